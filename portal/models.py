"""Import every model so metadata (and Alembic) see all tables."""

from portal.accounts.models import *  # noqa: F403
from portal.billing.models import *  # noqa: F403
from portal.catalog.models import *  # noqa: F403
from portal.clients.models import *  # noqa: F403
from portal.core.models import *  # noqa: F403
from portal.settings.models import *  # noqa: F403
from portal.tenancy.models import *  # noqa: F403
from portal.orders.models import *  # noqa: F403
from portal.subscriptions.models import *  # noqa: F403
from portal.notifications.models import *  # noqa: F403
from portal.notifications.delivery_models import *  # noqa: F403
