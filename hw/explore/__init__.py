"""Machine-driven design exploration (``attendnets explore``): Optuna searches the spec space
(hw.explore.space), the estimator prices each candidate on the board before any training
(hw.explore.price), Dask workers train the survivors with a short QAT run as the accuracy proxy
(hw.explore.proxy), the loop and its resumable study live in hw.explore.study, and the Pareto
front is written as specs, plans and a chart (hw.explore.front)."""
