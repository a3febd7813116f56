"""Dask distributed for the embarrassingly parallel commands: ``explore`` (one task per trial),
``sweep`` (one task per case) and ``csim --images all`` (one task per slice of images).

``dask_client(scheduler)`` is the one way in: without an address it starts a LocalCluster on the
loopback interface (``workers`` processes, one thread each, TensorFlow limited to one thread per
worker so N workers share N cores) and closes it afterwards; with ``--scheduler ADDRESS`` it
connects to a running scheduler (``dask scheduler`` / ``dask worker ADDRESS --nthreads 1``)
within ``timeout_s`` or fails in one line.  Tasks read and write the paths they are given, so
the workers of a remote cluster must see the same files (a shared file system) and have this
package installed.
"""
from __future__ import annotations

import contextlib
import logging
import re

DEFAULT_WORKERS = 2
CONNECT_TIMEOUT_S = 10.0
ONE_TF_THREAD = {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": "1",
                 "TF_CPP_MIN_LOG_LEVEL": "3"}
ADDRESS = re.compile(r"^(tcp|tls|inproc|ucx|ws|wss)://\S+$")


class SchedulerError(RuntimeError):
    """No Dask scheduler answered at the address given; the message names it."""


def scheduler_option(text: str) -> str:
    """``--scheduler``: a Dask address such as tcp://10.0.0.5:8786 (HOST:PORT means tcp://HOST:PORT)."""
    import argparse

    text = text.strip()
    if re.match(r"^[\w.\-\[\]:]+:\d+$", text) and "://" not in text:
        text = f"tcp://{text}"
    if not ADDRESS.match(text):
        raise argparse.ArgumentTypeError(f"expected a Dask scheduler address like tcp://HOST:PORT, got {text!r}")
    return text


@contextlib.contextmanager
def dask_client(scheduler: "str | None" = None, workers: int = DEFAULT_WORKERS, timeout_s: "float | None" = None):
    """A dask.distributed Client: on ``scheduler``'s cluster (reached within ``timeout_s``, default
    CONNECT_TIMEOUT_S), or on a LocalCluster of ``workers`` single-threaded worker processes started
    for the duration of the block."""
    from dask.distributed import Client, LocalCluster

    timeout_s = CONNECT_TIMEOUT_S if timeout_s is None else timeout_s

    if scheduler:
        try:
            client = Client(scheduler, timeout=f"{timeout_s}s")
        except (OSError, TimeoutError) as err:
            first = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
            raise SchedulerError(f"--scheduler {scheduler}: no Dask scheduler answered within {timeout_s:g} s "
                                 f"({first})") from None
        with client:
            yield client
        return
    # the workers are fresh processes: their environment decides TensorFlow's thread pools
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, silence_logs=logging.ERROR, env=dict(ONE_TF_THREAD)) as cluster:
        with Client(cluster) as client:
            yield client


def worker_count(client) -> int:
    """Worker processes now connected (at least 1, so callers can size their queues)."""
    return max(1, len(client.scheduler_info(n_workers=-1).get("workers", {})))


def run_all(client, fn, calls: list, on_result=None) -> list:
    """fn(*args) for every args tuple in ``calls`` on the cluster; the results in call order.
    ``on_result(index, result)`` runs in this process as each task finishes (progress, saving).
    A task's exception is raised here, with the other tasks cancelled."""
    from dask.distributed import as_completed

    futures = [client.submit(fn, *args, pure=False) for args in calls]
    index = {f.key: i for i, f in enumerate(futures)}
    results = [None] * len(futures)
    try:
        for future in as_completed(futures):
            i = index[future.key]
            results[i] = future.result()
            if on_result is not None:
                on_result(i, results[i])
    finally:
        client.cancel([f for f in futures if not f.done()])
    return results
