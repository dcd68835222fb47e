"""Catalogue services: one module per use case; they flush, the caller commits."""

from portal.catalog.services.delegation import (delegate_plan, delegation_clashes,
                                                start_delegation)
from portal.catalog.services.errors import CatalogError, DelegationConflict
from portal.catalog.services.markup import (catalog_settings, clear_markup, coefficient_value,
                                            markup_state, set_category_markup, set_markup,
                                            set_new_categories_markup)
from portal.catalog.services.plans import (activate_plan, add_period, add_resource,
                                           add_switch_targets, copy_plan, create_plan,
                                           deactivate_plan, delete_period, delete_resource,
                                           remove_switch_targets, set_plan_icon,
                                           set_plan_services, update_period, update_plan,
                                           update_resource)
from portal.catalog.services.products import (add_marketing_item, add_service_resource,
                                              create_plan_category, create_product,
                                              create_product_category, create_service_template,
                                              delete_plan_category, delete_product,
                                              delete_product_category, delete_service_template,
                                              remove_marketing_item, set_marketing_item_image,
                                              set_product_logo,
                                              set_service_resource_active, update_plan_category,
                                              update_product, update_product_category,
                                              update_service_template)
from portal.catalog.services.rules import (copy_rules_to_new_reseller, create_provisioning_rule,
                                           delete_provisioning_rule, name_conflicts,
                                           update_provisioning_rule)
from portal.catalog.services.sync import request_sync, sync_plan_copies
from portal.tenancy.services.resellers import INHERITANCE_STEPS

if copy_rules_to_new_reseller not in INHERITANCE_STEPS:
    INHERITANCE_STEPS.append(copy_rules_to_new_reseller)
