"""The operator-panel menu, filtered by the member's permissions (01 R-UI-3, 08 R-ROLE-2)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class MenuItem:
    key: str
    label: object
    endpoint: str
    permission: str


@dataclass(frozen=True)
class MenuBlock:
    label: object
    items: tuple[MenuItem, ...]


MENU = (
    MenuBlock(_l("Home"), (
        MenuItem("dashboard", _l("Home"), "operator.home", "dashboard.view"),
    )),
    MenuBlock(_l("Operations"), (
        MenuItem("clients", _l("Clients"), "clients.list_clients", "clients.view"),
        MenuItem("orders", _l("Orders"), "orders.list_orders", "orders.view"),
        MenuItem("subscriptions", _l("Subscriptions"), "subscriptions.list_subscriptions",
                 "subscriptions.view"),
        MenuItem("payments", _l("Payments"), "payments.list_payments", "payments.view"),
        MenuItem("manual_operations", _l("Manual operations"),
                 "provisioning.list_manual_operations", "manual_operations.view"),
        MenuItem("task_queue", _l("Task queue"), "provisioning.list_tasks", "task_queue.view"),
        MenuItem("client_users", _l("Client users"), "clients.list_users", "client_users.view"),
        MenuItem("resellers", _l("Resellers"), "tenancy.list_resellers", "resellers.view"),
    )),
    MenuBlock(_l("Billing"), (
        MenuItem("charges", _l("Charges"), "charges.list_charges", "charges.view"),
        MenuItem("client_types", _l("Client types"), "clients.list_client_types",
                 "client_types.view"),
        MenuItem("service_rules", _l("Service rules"), "clients.list_service_rules",
                 "service_rules.view"),
        MenuItem("currencies", _l("Currencies"), "billing.currencies", "currencies.view"),
    )),
    MenuBlock(_l("Products"), (
        MenuItem("price_list", _l("Price list"), "catalog.price_list", "price_list.view"),
        MenuItem("plans", _l("Plans"), "catalog.list_plans", "plans.view"),
        MenuItem("plan_categories", _l("Plan categories"), "catalog.list_plan_categories",
                 "plan_categories.view"),
        MenuItem("products", _l("Products"), "catalog.list_products", "products.view"),
        MenuItem("product_categories", _l("Product categories"),
                 "catalog.list_product_categories", "product_categories.view"),
        MenuItem("provisioning_rules", _l("Provisioning rules"),
                 "catalog.list_provisioning_rules", "provisioning_rules.view"),
        MenuItem("services", _l("Services"), "catalog.list_services", "services.view"),
    )),
    # 09 §5.0; the log and the SMS gateways are built beside the other notification pages.
    MenuBlock(_l("Notifications"), (
        MenuItem("notification_categories", _l("Notification categories"),
                 "notifications.list_categories", "notification_categories.view"),
        MenuItem("notification_events", _l("Notification events"),
                 "notifications.list_handlers", "notification_events.view"),
        MenuItem("notification_templates", _l("Notification templates"),
                 "notifications.list_templates", "notification_templates.view"),
        MenuItem("notification_log", _l("Notification log"), "notifications.log_list",
                 "notification_log.view"),
        MenuItem("sms_gateways", _l("SMS gateways"), "notifications.sms_gateways",
                 "sms_gateways.view"),
    )),
    MenuBlock(_l("Configuration"), (
        MenuItem("system_settings", _l("System settings"), "settings.system", "system_settings.view"),
        MenuItem("security_settings", _l("Security settings"), "settings.security",
                 "security_settings.view"),
        MenuItem("staff", _l("Staff and access rights"), "accounts.list_staff", "staff.view"),
        MenuItem("staff_roles", _l("Staff roles"), "accounts.roles", "staff_roles.view"),
        MenuItem("additional_parameters", _l("Additional parameters"),
                 "clients.list_parameters", "additional_parameters.view"),
        MenuItem("system_log", _l("Event log"), "operator.event_log", "system_log.view"),
    )),
)


def menu_for(principal) -> list[tuple[object, list[MenuItem]]]:
    """The blocks and items this member may open; blocks left empty are dropped."""
    endpoints = current_app.view_functions
    blocks = []
    for block in MENU:
        items = [item for item in block.items
                 if item.endpoint in endpoints and principal.can(item.permission)]
        if items:
            blocks.append((block.label, items))
    return blocks


def all_menu_items() -> list[MenuItem]:
    """Every item whose page this app has (a slot for a page not built yet stays out)."""
    endpoints = current_app.view_functions if has_app_context() else None
    return [item for block in MENU for item in block.items
            if endpoints is None or item.endpoint in endpoints]
