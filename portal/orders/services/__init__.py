"""Order use cases (spec 03). Services flush; the edges commit."""

from .errors import OrderError  # noqa: F401
from .manual_operations import approve_manual_operation, decline_manual_operation  # noqa: F401
from .provisioning import (cancel_task, poll_task, request_provisioning, rerun_task,  # noqa: F401
                           run_task)
