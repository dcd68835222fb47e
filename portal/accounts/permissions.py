"""The role → permission matrix of the operator panel (08 R-ROLE-1, manual L15617-L15692).

The manual grants whole menu sections per role; a section gives `<section>.view` and, unless
it is read-only, `<section>.manage`.
"""

from __future__ import annotations

from portal.accounts.models import Role

SA, PM, SM, MS = (Role.SYSTEM_ADMIN, Role.PRODUCT_MANAGER, Role.SALES_MANAGER,
                  Role.MARKETING_SPECIALIST)

# section -> roles that have it (08 §4.9 matrix, A-16 for the sections the matrix omits)
SECTION_ROLES: dict[str, tuple[Role, ...]] = {
    "dashboard": (SA, PM, SM, MS),
    # Operations
    "orders": (SA, SM, MS),
    "manual_operations": (SA, SM, MS),
    "scenarios": (SA, SM, MS),
    "task_queue": (SA,),
    "notification_log": (SA, SM, MS),
    "clients": (SA, SM, MS),
    "client_users": (SA, SM, MS),
    "resellers": (SA,),
    "subscriptions": (SA, SM, MS),
    "domains": (SA, SM, MS),
    "certificates": (SA, SM, MS),
    # Finance
    "payments": (SA, SM, MS),
    "promised_payments": (SA, SM, MS),
    "charges": (SA, SM, MS),
    "adjustments": (SA, SM, MS),
    "acts": (SA, SM, MS),
    "transactions": (SA, SM, MS),
    # Products
    "product_categories": (SA, PM, MS),
    "products": (SA, PM, MS),
    "plan_categories": (SA, PM, MS),
    "plans": (SA, PM, MS),
    "price_list": (SA, PM, MS),
    "provisioning_rules": (SA, PM, MS),
    "vendors": (SA, PM, MS),
    "licenses": (SA, PM, MS),
    "services": (SA, PM, MS),
    "certificate_providers": (SA, PM),
    "domain_registrars": (SA, PM),
    "domain_zones": (SA, PM),
    "discounts": (SA, PM, MS),
    # Billing
    "client_types": (SA,),
    "service_rules": (SA,),
    "payment_methods": (SA,),
    "currencies": (SA,),
    # Configuration
    "system_settings": (SA,),
    "security_settings": (SA,),
    "staff": (SA,),
    "staff_roles": (SA,),
    "system_log": (SA,),
    "additional_parameters": (SA,),
    "ui_templates": (SA,),
    # Notifications
    "notification_categories": (SA, PM),
    "notification_events": (SA, PM),
    "notification_templates": (SA, PM),
    "sms_gateways": (SA, PM),
    # Modules
    "reports": (SA,),
    "customer_store": (SA,),
}

READ_ONLY_SECTIONS = {"dashboard", "staff_roles", "system_log"}
# Sections only the root operator's panel has (08 A-16, 01 R-LOG-2).
ROOT_ONLY_SECTIONS = {"system_log", "task_queue"}


def _build_matrix() -> dict[Role, frozenset[str]]:
    matrix: dict[Role, set[str]] = {role: set() for role in Role}
    for section, roles in SECTION_ROLES.items():
        for role in roles:
            matrix[role].add(f"{section}.view")
            if section not in READ_ONLY_SECTIONS:
                matrix[role].add(f"{section}.manage")
    return {role: frozenset(perms) for role, perms in matrix.items()}


ROLE_PERMISSIONS = _build_matrix()
ALL_PERMISSIONS = frozenset().union(*ROLE_PERMISSIONS.values())


def has_permission(role: Role, permission: str, *, at_root: bool) -> bool:
    if permission not in ALL_PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")
    section = permission.split(".", 1)[0]
    if section in ROOT_ONLY_SECTIONS and not at_root:
        return False
    return permission in ROLE_PERMISSIONS[role]
