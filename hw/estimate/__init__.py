"""Resources and latency: the estimator, its calibration data and the vendor-report parsers."""

# The resources every figure of this stage is counted in (estimated, synthesized, calibration records,
# board capacities), in the order every table prints them.  The one definition; the rest import it.
RESOURCES = ("dsp", "lut", "ff", "bram18", "uram")
