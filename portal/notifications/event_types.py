"""The system catalogue of notification event types (09 §2.5) and the default categories.

An event type is fixed data, not a table: a handler stores its `key`. `objects` names the
placeholder groups its templates can reach besides the common ones (owner, reseller, vendor;
09 §2.9.1, §2.9.12); `placeholders.schema_for` turns them into the template contract.
`available` says whether the product has the event's source today (orders, payments,
subscriptions and trial-to-paid switches, clients, users, manual operations, the nightly run
and plan cost changes do; acts, promised payments, postpaid payments and credit limits, CSP
prices, Vendor Portal, servers, self-registration and promo codes do not yet).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

# 09 §2.9.1, §2.9.12: every event's templates get these.
COMMON_OBJECTS = ("owner", "reseller", "vendor")


class Audience(enum.StrEnum):
    """Who an event's notifications are about, which decides whose handlers run (09 N-7)."""

    CLIENT = "client"      # a client, its users, orders, subscriptions, payments
    STAFF = "staff"        # a staff member of the reseller
    RESELLER = "reseller"  # the reseller as a whole (price digests)


@dataclass(frozen=True)
class NotificationCategoryDefault:
    """A category installed at the Operator with the platform (09 §2.2, `installed` = Да)."""

    key: str
    name: object  # lazy string; the English name is the msgid
    ru_name: str
    description: object
    ru_description: str
    published: bool
    enabled_on_client_creation: bool


# The manual names no installed set; these follow its examples: «внутренние», «продление и
# истечение подписки» (manual L11454), "Account balance notifications" (L16920), «Уведомления о
# подтверждении регистрации» (unpublished, L16611). A-01: an unpublished category cannot be
# switched off, so access mails and staff mails live in unpublished ones.
DEFAULT_CATEGORIES: tuple[NotificationCategoryDefault, ...] = (
    NotificationCategoryDefault(
        "account", _l("Account notifications"), "Уведомления о Клиенте",
        _l("Changes of the client account: creation, blocks, manager."),
        "Изменения Клиента: создание, блокировки, менеджер.", True, True),
    NotificationCategoryDefault(
        "balance", _l("Account balance notifications"), "Уведомления о балансе",
        _l("Balance, received payments, approaching financial block, financial day."),
        "Баланс, полученные платежи, приближение финансовой блокировки, финансовый день.",
        True, True),
    NotificationCategoryDefault(
        "payments", _l("Payments and documents"), "Платежи и документы",
        _l("Postpaid payments and their due dates, promised payments, acts and invoices."),
        "Платежи по постоплате и сроки их оплаты, обещанные платежи, акты и счета.",
        True, True),
    NotificationCategoryDefault(
        "orders", _l("Orders"), "Заказы",
        _l("Orders created and their status changes."),
        "Созданные заказы и изменения их статуса.", True, True),
    NotificationCategoryDefault(
        "subscriptions", _l("Subscription renewal and expiry"),
        "Продление и истечение подписки",
        _l("Subscription expiry reminders and subscription changes."),
        "Напоминания об окончании подписок и изменения подписок.", True, True),
    NotificationCategoryDefault(
        "registration", _l("Registration and access"), "Регистрация и доступ",
        _l("Password resets, invitations, e-mail and phone confirmation; always delivered."),
        "Сброс пароля, приглашения, подтверждение email и телефона; доставляются всегда.",
        False, True),
    NotificationCategoryDefault(
        "internal", _l("Internal"), "Внутренние",
        _l("Notifications for the reseller's staff."),
        "Уведомления для сотрудников Реселлера.", False, False),
)

CATEGORY_KEYS = frozenset(category.key for category in DEFAULT_CATEGORIES)


@dataclass(frozen=True)
class EventType:
    """One row of 09 §2.5."""

    number: int          # the row number of §2.5 (TRG-n in §4.9)
    key: str
    name: object         # lazy string, English msgid
    ru_name: str         # the manual's Russian name, for the lead's catalogue
    objects: tuple[str, ...]
    category: str        # key of the default category
    available: bool
    audience: str = Audience.CLIENT

    @property
    def all_objects(self) -> tuple[str, ...]:
        return COMMON_OBJECTS + self.objects


# Placeholder groups (09 ): merged manual cells give a group to every event in
# the cell; events without documented placeholders get the common set plus their subject.
_SUBSCRIPTION = ("account", "subscription", "subscription_postpay", "product", "plan",
                 "plan_period")
_ORDER = ("account", "order", "charge", "subscription", "product", "plan", "plan_period",
          "payment", "billing_day")

_E = EventType
EVENT_TYPES: tuple[EventType, ...] = (
    _E(1, "payment_due_date_coming", _l("Payment due date is coming"),
       "Период отсрочки Платежа истекает", ("account", "payment"), "payments", False),
    _E(2, "account_credit_hold_coming", _l("Account credit hold is coming"),
       "Приближается финансовая блокировка клиента", ("account",), "balance", True),
    _E(3, "account_changed", _l("Account changed"), "Клиент изменён", ("account",),
       "account", True),
    _E(4, "account_created", _l("Account created"), "Клиент создан", ("account", "user"),
       "account", True),
    _E(5, "credit_hold_threshold_changed", _l("Credit hold threshold was changed"),
       "Порог срабатывания финансовой блокировки изменен", ("account",), "balance", True),
    _E(6, "account_manager_changed", _l("Account manager changed"),
       "Менеджер клиента изменен", ("account", "manager"), "account", True),
    _E(7, "invoice_closed", _l("Invoice closed"), "Закрытие Акта", ("account", "invoice"),
       "payments", False),
    _E(8, "low_balance", _l("Low balance"), "Недостаточно средств на балансе",
       ("account", "subscriptions"), "balance", True),
    _E(9, "manual_operation", _l("Manual operation"), "Ручная операция",
       ("account", "manual_operation", "subscription", "product", "plan", "plan_period"),
       "internal", True),
    _E(10, "postpay_payment_created", _l("Postpaid payment created"),
       "Платеж по постоплате создан", ("account", "payment", "billing_day"), "payments",
       False),
    _E(11, "payment_received", _l("Payment has been received"), "Платеж получен",
       ("account", "payment"), "balance", True),
    _E(12, "password_reset_request", _l("Password reset request"), "Запрос сброса пароля",
       ("user", "password_reset"), "registration", True),
    _E(13, "manager_password_reset_request", _l("Manager password reset request"),
       "Запрос сброса пароля менеджера", ("manager", "password_reset"), "registration", True,
       Audience.STAFF),
    _E(14, "before_subscription_expiration", _l("Before subscription expiration"),
       "До окончания периода подписки", _SUBSCRIPTION + ("payment", "billing_day"),
       "subscriptions", True),
    _E(15, "after_subscription_expiration", _l("After subscription expiration"),
       "После окончания периода подписки", _SUBSCRIPTION + ("days_passed",), "subscriptions",
       True),
    # The source exists: a trial subscription switches to a paid period (orders/switching).
    _E(16, "subscription_trial_to_paid",
       _l("After subscription switched from trial to non-trial"),
       "Подписка переведена из пробного статуса в платный", _SUBSCRIPTION, "subscriptions",
       True),
    _E(17, "subscription_changed", _l("Subscription changed"), "Подписка изменена",
       _SUBSCRIPTION, "subscriptions", True),
    _E(18, "verify_email", _l("Verify email"), "Подтверждение email",
       ("user", "email_confirmation"), "registration", False),
    _E(19, "user_invitation", _l("User invitation"), "Приглашение пользователя",
       ("account", "invitation"), "registration", True),
    _E(20, "order_changed", _l("Order changed"), "Заказ изменён", _ORDER, "orders", True),
    _E(21, "order_created", _l("Order created"), "Заказ создан", _ORDER, "orders", True),
    _E(22, "guaranteed_payment_created", _l("Guaranteed payment created"),
       "Обещанный платеж создан", ("account", "guaranteed_payment"), "payments", False),
    _E(23, "guaranteed_payment_changed", _l("Guaranteed payment changed"),
       "Обещанный платеж изменен", ("account", "guaranteed_payment"), "payments", False),
    _E(24, "guaranteed_payment_will_expire", _l("Guaranteed payment will expire"),
       "Обещанный платеж истекает", ("account", "guaranteed_payment"), "payments", False),
    _E(25, "days_left_to_pay", _l("Days left to pay"), "Осталось дней до оплаты",
       _SUBSCRIPTION, "payments", False),
    _E(26, "phone_verification", _l("Phone verification"), "Телефонная верификация",
       ("user", "account", "password_reset"), "registration", False),
    _E(27, "csp_price_update", _l("CSP price update"), "Обновление цен CSP", _SUBSCRIPTION,
       "subscriptions", False),
    _E(28, "csp_price_upload", _l("CSP price upload"), "Загрузка цен CSP",
       ("csp_price_file",), "internal", False, Audience.RESELLER),
    _E(29, "invoice_request_sent", _l("Invoice request sent"),
       "Заявка на создание счета отправлена", ("account", "payment"), "internal", False),
    _E(30, "topup_invoice_ready", _l("Top-up invoice is ready"),
       "Счёт на пополнение баланса готов", ("account", "payment"), "balance", False),
    _E(31, "reporting_period_closed", _l("Reporting period closed"), "Отчётный период закрыт",
       ("account", "billing_day"), "payments", False),
    _E(32, "user_created_password_reset", _l("Password reset on user creation"),
       "Запрос на сброс пароля при создании пользователя",
       ("user", "account", "password_reset"), "registration", True),
    _E(33, "vsp_resources_changed", _l("VSP resources changed"), "VSP ресурсы изменились",
       _SUBSCRIPTION + ("application",), "subscriptions", False),
    _E(34, "vsp_subscription_created", _l("VSP subscription created"),
       "VSP подписка создана", _SUBSCRIPTION + ("application",), "subscriptions", False),
    _E(35, "create_instance", _l("Create instance"), "Создание сервера",
       ("account", "subscription"), "subscriptions", False),
    _E(36, "reset_instance_password", _l("Reset instance password"), "Сброс пароля сервера",
       ("account", "subscription"), "subscriptions", False),
    # The source exists: delegated plan copies record cost_changed_at (catalog sync).
    _E(37, "net_cost_changed", _l("Net cost has been changed"), "Себестоимость изменена",
       ("net_cost",), "internal", True, Audience.RESELLER),
    _E(38, "billing_day_coming", _l("Billing day is coming"), "Финансовый день наступает",
       ("account", "billing_day", "next_billing_period", "subscriptions", "client_products",
        "subscription"), "balance", True),
    _E(39, "billing_day_come", _l("Billing day has come"), "Финансовый день наступил",
       ("manager", "billing_day", "previous_billing_period", "manager_accounts"), "internal",
       True, Audience.STAFF),
    _E(40, "postpay_credit_limit_changed",
       _l("Credit limit for post paid subscription was changed"),
       "Кредитный лимит для постоплатной подписки изменен", _SUBSCRIPTION, "payments", False),
    _E(41, "postpay_credit_limit_approaching",
       _l("Credit limit for postpaid subscription is approaching"),
       "Приближение к кредитному лимиту постоплатной подписки", _SUBSCRIPTION, "payments",
       False),
    _E(42, "closing_documents_ready", _l("Closing documents are ready"),
       "Закрывающие документы сформированы", ("account", "invoice"), "payments", False),
    _E(43, "invoice_approved", _l("The Invoice was approved"), "Счет был подтвержден",
       ("account", "invoice", "payment"), "payments", False),
    _E(44, "joined_payment_created", _l("Joined payment created"),
       "Создан объединенный платеж", ("account", "payment"), "balance", False),
    _E(45, "external_promo_code_added", _l("External promo code added"),
       "Добавлен внешний промокод", ("account", "promo_vendor", "promo_code"), "account",
       False),
)

EVENT_TYPES_BY_KEY: dict[str, EventType] = {event.key: event for event in EVENT_TYPES}


def event_type(key: str) -> EventType:
    """Return the event type with this key; KeyError for a key not in 09 §2.5."""
    return EVENT_TYPES_BY_KEY[key]


def available_event_types() -> tuple[EventType, ...]:
    """The event types whose source exists in the product, in §2.5 order."""
    return tuple(event for event in EVENT_TYPES if event.available)


def event_type_choices(*, only_available: bool = False) -> list[tuple[str, str]]:
    """(key, translated name) pairs for the handler form's Событие dropdown."""
    events = available_event_types() if only_available else EVENT_TYPES
    return [(event.key, str(event.name)) for event in events]
