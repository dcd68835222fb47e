"""Notification services: categories, templates and handlers delegated down the reseller tree
(09 §2–§4). They flush; the caller commits."""

from portal.notifications.services.categories import (create_category, restore_category,
                                                       update_category)
from portal.notifications.services.compare import (Fragment, TemplateComparison,
                                                    body_fragments, compare_template,
                                                    revert_fragment)
from portal.notifications.services.deletion import (DeletionPlan, delete_category,
                                                     delete_handler, delete_template)
from portal.notifications.services.errors import (NotificationError, RuleInvalid,
                                                   TemplateContentInvalid)
from portal.notifications.services.handlers import (activate_handler, create_handler,
                                                     deactivate_handler, restore_handler,
                                                     update_handler)
from portal.notifications.services.inheritance import copy_notifications_to_new_reseller
from portal.notifications.services.templates import (create_template, restore_template,
                                                      update_template)
from portal.tenancy.services.resellers import INHERITANCE_STEPS

if copy_notifications_to_new_reseller not in INHERITANCE_STEPS:
    INHERITANCE_STEPS.append(copy_notifications_to_new_reseller)

__all__ = [
    "DeletionPlan", "Fragment", "NotificationError", "RuleInvalid", "TemplateComparison",
    "TemplateContentInvalid", "activate_handler", "body_fragments", "compare_template",
    "copy_notifications_to_new_reseller", "create_category", "create_handler",
    "create_template", "deactivate_handler", "delete_category", "delete_handler",
    "delete_template", "restore_category", "restore_handler", "restore_template",
    "revert_fragment", "update_category", "update_handler", "update_template",
]
