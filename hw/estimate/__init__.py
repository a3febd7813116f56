"""Resources and latency: the estimator, its calibration data and the vendor-report parsers."""
