"""The standard workloads behind ``duroxide bench``.

Each workload runs in this process on a fresh store (see ``stores``), through the public
``Client`` and ``Runtime``, and yields one ``WorkloadResult``. The orchestrations and activities
they run are in ``app``.
"""

from .results import WorkloadResult, percentile
from .stores import BenchStore
from .workloads import WORKLOADS, Progress, Workload, WorkloadFailed, run_workload

__all__ = ["WORKLOADS", "BenchStore", "Progress", "Workload", "WorkloadFailed", "WorkloadResult", "percentile", "run_workload"]
