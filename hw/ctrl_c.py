"""Ctrl-C while an ``attendnets`` subcommand runs: one line, exit 130, nothing half-written.

hw.cli.main() runs every subcommand inside ``CtrlC``; hw.hls.project.install() reads the press it
records (INTERRUPTED) and never puts a project in place after one.
"""
from __future__ import annotations

import _thread
import contextlib
import signal
import sys
import threading
import weakref


class CtrlC:
    """The command's SIGINT handler, while a subcommand runs.

    Python's own handler raises KeyboardInterrupt wherever the main thread is when the signal lands.
    There a library may swallow it (a bare ``except:``), only print it (a finalizer: ``__del__``, a
    weakref callback) or turn it into another error (TensorFlow's source-map stack in tf_stack then
    fails with 'Concurrent access?'), and the command went on, or called it a bug.  So:

    - a press is recorded: hw.hls.project.install() never puts a project in place after one;
    - it is not raised inside a ``__del__``, and one that a finalizer would only print is dropped;
    - until main() has caught it, it is raised again every RETRY_S seconds, but never while one is
      being handled (a ``finally``, ``except`` or ``__exit__`` on its way out), so a second press
      does not cut the clean-up short;
    - an error raised after a press is reported as the interrupt.

    When the work is over, a press ends TensorFlow's shut-down quietly (after an interrupt it is
    ignored: the one line is still to be printed).  Python handles signals in the main thread only;
    elsewhere, and in a command started with Ctrl-C ignored (in the background of a script), the
    block changes nothing, as shells and Python itself leave an inherited ignore alone."""

    RETRY_S = 0.5

    def __init__(self, as_command: bool):
        self.as_command = as_command
        self.done = threading.Event()
        self.repeater = None
        self.pressed = False    # Ctrl-C was pressed while the block ran

    def __enter__(self):
        from hw.hls.project import INTERRUPTED

        self.interrupted = INTERRUPTED
        self.interrupted.clear()
        self.previous = None
        # Only the main thread can handle signals; a command started with Ctrl-C ignored (in the
        # background of a script) keeps ignoring it, as Python and the shells do.
        ignored = signal.getsignal(signal.SIGINT) in (signal.SIG_IGN, None)
        if threading.current_thread() is threading.main_thread() and not ignored:
            self.previous = signal.signal(signal.SIGINT, self._handle)
            self.unraisable, sys.unraisablehook = sys.unraisablehook, self._unraisable
        return self

    def _unraisable(self, unraisable) -> None:
        """Python only prints an exception raised in a finalizer or a weakref callback (which
        _in_finalizer cannot tell from ordinary code): a KeyboardInterrupt there is raised again."""
        if not isinstance(unraisable.exc_value, KeyboardInterrupt):
            self.unraisable(unraisable)

    def _handle(self, signum, frame):
        if self.done.is_set():
            return
        self.interrupted.set()
        if self.repeater is None:
            self.repeater = threading.Thread(target=self._repeat, args=(threading.get_ident(),),
                                             name="attendnets-ctrl-c", daemon=True)
            self.repeater.start()
        if not (_unwinding_from_ctrl_c() or _in_finalizer(frame)):
            raise KeyboardInterrupt

    def _repeat(self, main_thread: int) -> None:
        while not self.done.wait(self.RETRY_S):
            if hasattr(signal, "pthread_kill"):  # a real signal: it also ends a blocking call
                signal.pthread_kill(main_thread, signal.SIGINT)
            else:
                _thread.interrupt_main(signal.SIGINT)

    def __exit__(self, *exc):
        self.done.set()  # first: from here a press raises nothing
        if self.repeater is not None:
            self.repeater.join()
        self.pressed = self.interrupted.is_set()
        self.interrupted.clear()
        if self.previous is None:
            return False
        sys.unraisablehook = self.unraisable
        if not self.as_command:
            signal.signal(signal.SIGINT, self.previous)
            return False
        with contextlib.suppress(OSError, ValueError):  # the work is over: a press from now on quietly
            sys.stdout.flush()                          # ends TensorFlow's shut-down, or is ignored
        signal.signal(signal.SIGINT, signal.SIG_IGN if self.pressed else signal.SIG_DFL)
        return False


def _unwinding_from_ctrl_c() -> bool:
    """A KeyboardInterrupt, or an error raised while handling one, is being handled right now."""
    err = sys.exc_info()[1]
    while err is not None:
        if isinstance(err, KeyboardInterrupt):
            return True
        err = err.__context__
    return False


def _in_finalizer(frame) -> bool:
    """Python only prints an exception raised in a ``__del__`` or a weakref finalizer."""
    while frame is not None:
        code = frame.f_code
        if code.co_name == "__del__" or (code.co_name == "__call__" and code.co_filename == weakref.__file__):
            return True
        frame = frame.f_back
    return False
