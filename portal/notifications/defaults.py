"""The operator's installed notification set (09 §2.1 Установлен, DEL-5; issue 6).

For every event type whose source exists (`event_types.available_event_types`) the root gets an
e-mail template in Russian and English and an active handler; a few client-facing events also
get a client-panel template and handler. Categories are event_types.DEFAULT_CATEGORIES. Rows are
`installed`, templates keep `default_snapshot`, and every reseller below receives copies (D1,
and D2 for resellers created later). Installing again adds only what is missing.

The sender is the reseller's `vendor_email` additional parameter, the address the manual
recommends for client mails (x-ref L11249–L11266, A-47); delivery falls back to the reseller's
SMTP sender when it is empty. Rules follow the manual's recommendations: the events that need
a rule (EVT-RULE-REQ) have one, and the order events exclude prolong orders of subscriptions
renewed on the expiry day with the corrected rule of A-19.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import force_locale
from sqlalchemy import select

from portal.core.clock import clock
from portal.extensions import db
from portal.notifications.event_types import (DEFAULT_CATEGORIES, available_event_types,
                                              event_type)
from portal.notifications.models import (CONTENT_LANGUAGES, HandlerStatus,
                                         NotificationCategory, NotificationEvent,
                                         NotificationTemplate, NotificationTemplateContent,
                                         TemplateType)
from portal.notifications.services.delegation import (CATEGORY, HANDLER, TEMPLATE, audit_many,
                                                      create_copies)
from portal.notifications.services.errors import NotificationError
from portal.notifications.services.templates import default_snapshot
from portal.notifications.services.validation import rule_key
from portal.tenancy.models import Reseller

SENDER = "{{ reseller.custom_attributes.vendor_email }}"
OWNER = "{{ owner.email }}"
STAFF = "{{ reseller.managers_emails }}"


@dataclass(frozen=True)
class DefaultTemplate:
    """One installed template and the handler that uses it."""

    event: str
    recipient: str
    subject: dict[str, str]
    body: dict[str, str]
    type: TemplateType = TemplateType.EMAIL
    rule: str = ""
    user_id: str = ""
    cc: str = ""
    send_hour: int | None = None  # None: queued at once

    @property
    def key(self) -> str:
        return f"{self.event}.{self.type.value}"


def _mail(ru: str, en: str) -> dict[str, str]:
    """Wrap an e-mail body: greeting-free paragraphs plus the reseller's signature."""
    return {
        "ru": f"{ru}\n<p>С уважением,<br>{{{{ reseller.name }}}}</p>\n",
        "en": f"{en}\n<p>Best regards,<br>{{{{ reseller.name }}}}</p>\n",
    }


_HELLO_RU = "<p>Здравствуйте, {{ owner.first_name }}!</p>\n"
_HELLO_EN = "<p>Hello, {{ owner.first_name }}!</p>\n"
_BALANCE_RU = "<p>Баланс: {{ account.balance | format_as_currency }}.</p>"
_BALANCE_EN = "<p>Balance: {{ account.balance | format_as_currency }}.</p>"
# 09 A-19: the rule the manual meant, not the one it prints.
_NOT_PROLONG_ON_EXPIRY = 'order.type != "ProlongOrder" or order.renewal_is_positive = true'

_ORDER_LINES = (
    "<table>\n"
    "{% for i in (1..order.charges.size) %}{% assign line = order.charges[forloop.index0] %}"
    "<tr><td>{{ line.name }}</td><td>{{ line.quantity }}</td>"
    "<td>{{ line.amount | format_as_currency }}</td></tr>\n{% endfor %}"
    "</table>\n"
)

DEFAULT_TEMPLATES: tuple[DefaultTemplate, ...] = (
    DefaultTemplate(
        "account_credit_hold_coming", OWNER,
        {"ru": "Приближается финансовая блокировка",
         "en": "Your account is close to a financial hold"},
        _mail(_HELLO_RU + "<p>Баланс клиента «{{ account.name }}» — "
              "{{ account.balance | format_as_currency }}. При задолженности больше "
              "{{ account.financial_blocking_threshold | format_as_currency }} услуги будут "
              "заблокированы. Пожалуйста, пополните баланс.</p>",
              _HELLO_EN + "<p>The balance of {{ account.name }} is "
              "{{ account.balance | format_as_currency }}. Once the debt exceeds "
              "{{ account.financial_blocking_threshold | format_as_currency }}, the services "
              "will be blocked. Please top up the balance.</p>"),
        # 09 EX-14: 80 % of the threshold used up.
        rule="account.financial_blocking_threshold % 80 < -account.balance"),
    DefaultTemplate(
        "account_changed", OWNER,
        {"ru": "Статус клиента «{{ account.name }}» изменён",
         "en": "The status of {{ account.name }} has changed"},
        _mail(_HELLO_RU + "<p>Текущий статус клиента «{{ account.name }}»: "
              "{{ account.human_status_name }}.</p>\n" + _BALANCE_RU,
              _HELLO_EN + "<p>The status of {{ account.name }} is now "
              "{{ account.human_status_name }}.</p>\n" + _BALANCE_EN)),
    DefaultTemplate(
        "account_created", OWNER,
        {"ru": "Добро пожаловать в {{ reseller.name }}", "en": "Welcome to {{ reseller.name }}"},
        _mail(_HELLO_RU + "<p>Клиент «{{ account.name }}» (ID {{ account.id }}) создан, вы — "
              "его владелец. Логин: {{ owner.email }}.</p>\n"
              "{% if account.owner_reset_password_url %}<p>Чтобы задать пароль, откройте "
              "ссылку: <a href=\"{{ account.owner_reset_password_url }}\">"
              "{{ account.owner_reset_password_url }}</a>. Ссылка одноразовая.</p>{% endif %}",
              _HELLO_EN + "<p>The client {{ account.name }} (ID {{ account.id }}) has been "
              "created and you are its owner. Your login is {{ owner.email }}.</p>\n"
              "{% if account.owner_reset_password_url %}<p>To set your password, open this "
              "link: <a href=\"{{ account.owner_reset_password_url }}\">"
              "{{ account.owner_reset_password_url }}</a>. It works once.</p>{% endif %}")),
    DefaultTemplate(
        "credit_hold_threshold_changed", OWNER,
        {"ru": "Изменён порог финансовой блокировки",
         "en": "Your credit hold threshold has changed"},
        _mail(_HELLO_RU + "<p>Порог срабатывания финансовой блокировки клиента "
              "«{{ account.name }}» теперь "
              "{{ account.financial_blocking_threshold | format_as_currency }}.</p>\n"
              + _BALANCE_RU,
              _HELLO_EN + "<p>The credit hold threshold of {{ account.name }} is now "
              "{{ account.financial_blocking_threshold | format_as_currency }}.</p>\n"
              + _BALANCE_EN)),
    DefaultTemplate(
        "account_manager_changed", OWNER,
        {"ru": "Ваш персональный менеджер", "en": "Your account manager"},
        _mail(_HELLO_RU + "<p>Клиента «{{ account.name }}» теперь ведёт "
              "{{ account.manager.name }} ({{ account.manager.email }}).</p>",
              _HELLO_EN + "<p>{{ account.name }} is now looked after by "
              "{{ account.manager.name }} ({{ account.manager.email }}).</p>")),
    DefaultTemplate(
        "low_balance", OWNER,
        {"ru": "Недостаточно средств на балансе", "en": "Low balance"},
        _mail(_HELLO_RU + "<p>На балансе клиента «{{ account.name }}» недостаточно средств: "
              "{{ account.balance | format_as_currency }}. Пополните баланс, чтобы подписки "
              "продлевались без перерыва.</p>",
              _HELLO_EN + "<p>The balance of {{ account.name }} is low: "
              "{{ account.balance | format_as_currency }}. Please top it up so that the "
              "subscriptions renew without a break.</p>"),
        # 09 EX-36: once, when the balance changes (not again in the billing run).
        rule="account.regular_sending = false"),
    DefaultTemplate(
        "manual_operation", STAFF,
        {"ru": "Ручная операция #{{ manual_operation.operation.id }} ждёт подтверждения",
         "en": "Manual operation #{{ manual_operation.operation.id }} needs approval"},
        _mail("<p>Клиент «{{ manual_operation.account.name }}» "
              "(ID {{ manual_operation.account.id }}), подписка "
              "«{{ manual_operation.subscription.name }}»: операция "
              "#{{ manual_operation.operation.id }} требует подтверждения.</p>\n"
              "<p><a href=\"{{ manual_operation.link }}\">{{ manual_operation.link }}</a></p>",
              "<p>Client {{ manual_operation.account.name }} "
              "(ID {{ manual_operation.account.id }}), subscription "
              "{{ manual_operation.subscription.name }}: operation "
              "#{{ manual_operation.operation.id }} needs approval.</p>\n"
              "<p><a href=\"{{ manual_operation.link }}\">{{ manual_operation.link }}</a></p>"),
        rule='operation.status = "approval_required"'),
    DefaultTemplate(
        "payment_received", OWNER,
        {"ru": "Платёж {{ payment.document_number }} получен",
         "en": "Payment {{ payment.document_number }} has been received"},
        _mail(_HELLO_RU + "<p>Платёж «{{ payment.document_number }}» на сумму "
              "{{ payment.total | format_as_currency }} получен.</p>\n" + _BALANCE_RU
              + "\n<p><a href=\"{{ payment.link }}\">{{ payment.link }}</a></p>",
              _HELLO_EN + "<p>Payment {{ payment.document_number }} of "
              "{{ payment.total | format_as_currency }} has been received.</p>\n"
              + _BALANCE_EN + "\n<p><a href=\"{{ payment.link }}\">{{ payment.link }}</a></p>"),
        # 09 §3.5: the event also fires when a payment is cancelled.
        rule='payment.status = "completed"'),
    DefaultTemplate(
        "payment_received", "",
        {"ru": "Платёж «{{ payment.document_number }}»",
         "en": "Payment {{ payment.document_number }}"},
        # 09 EX-7.
        {"ru": "Платёж «{{ payment.document_number }}» на сумму "
               "{{ payment.total | format_as_currency }} получен.",
         "en": "Payment {{ payment.document_number }} of "
               "{{ payment.total | format_as_currency }} has been received."},
        type=TemplateType.CLIENT_PANEL, user_id="{{ owner.id }}",
        rule='payment.status = "completed"'),
    DefaultTemplate(
        "password_reset_request", "{{ user.email }}",
        {"ru": "Восстановление пароля — {{ reseller.name }}",
         "en": "Password recovery — {{ reseller.name }}"},
        _mail("<p>Здравствуйте, {{ user.first_name }}!</p>\n<p>Чтобы задать новый пароль, "
              "откройте ссылку: <a href=\"{{ reset_password_url }}\">"
              "{{ reset_password_url }}</a>.</p>\n<p>Ссылка одноразовая. Если вы не "
              "запрашивали восстановление, просто проигнорируйте это письмо.</p>",
              "<p>Hello, {{ user.first_name }}!</p>\n<p>To set a new password, open this "
              "link: <a href=\"{{ reset_password_url }}\">{{ reset_password_url }}</a>.</p>\n"
              "<p>The link works once. If you did not ask for it, ignore this letter.</p>")),
    DefaultTemplate(
        "manager_password_reset_request", "{{ manager.email }}",
        {"ru": "Восстановление пароля — {{ reseller.name }}",
         "en": "Password recovery — {{ reseller.name }}"},
        _mail("<p>Здравствуйте, {{ manager.name }}!</p>\n<p>Чтобы задать новый пароль для "
              "панели {{ host }}, откройте ссылку: <a href=\"{{ reset_password_url }}\">"
              "{{ reset_password_url }}</a>.</p>\n<p>Ссылка одноразовая. Если вы не "
              "запрашивали восстановление, просто проигнорируйте это письмо.</p>",
              "<p>Hello, {{ manager.name }}!</p>\n<p>To set a new password for the panel "
              "{{ host }}, open this link: <a href=\"{{ reset_password_url }}\">"
              "{{ reset_password_url }}</a>.</p>\n<p>The link works once. If you did not ask "
              "for it, ignore this letter.</p>")),
    DefaultTemplate(
        "before_subscription_expiration", OWNER,
        {"ru": "Подписка «{{ subscription.name }}» истекает {{ subscription.expiration_date }}",
         "en": "Subscription {{ subscription.name }} expires on "
               "{{ subscription.expiration_date }}"},
        # 09 EX-5 with {{N}} written as the placeholder it stands for.
        _mail(_HELLO_RU + "<p>Подписка «{{ subscription.id }} — {{ subscription.name }}» "
              "истекает через {{ subscription.days_left }} дн. "
              "({{ subscription.expiration_date }}). Во избежание отключения сервиса "
              "рекомендуем продлить подписку заблаговременно.</p>\n"
              "{% if subscription.payment_model == 'prepay' %}<p>Для автоматического продления "
              "на балансе должно быть не меньше "
              "{{ subscription.renewal_amount | format_as_currency }}. Баланс: "
              "{{ account.balance | format_as_currency }}.</p>{% endif %}",
              _HELLO_EN + "<p>Subscription {{ subscription.id }} — {{ subscription.name }} "
              "expires in {{ subscription.days_left }} days "
              "({{ subscription.expiration_date }}). Please renew it in good time to keep the "
              "service running.</p>\n"
              "{% if subscription.payment_model == 'prepay' %}<p>The automatic renewal needs "
              "{{ subscription.renewal_amount | format_as_currency }} on the balance. Balance: "
              "{{ account.balance | format_as_currency }}.</p>{% endif %}"),
        # 09 EX-25.
        rule='subscription.days_left = 10 and subscription.status = "active"', send_hour=9),
    DefaultTemplate(
        "after_subscription_expiration", OWNER,
        {"ru": "Срок подписки «{{ subscription.name }}» истёк",
         "en": "Subscription {{ subscription.name }} has expired"},
        _mail(_HELLO_RU + "<p>Срок подписки «{{ subscription.id }} — {{ subscription.name }}» "
              "истёк {{ subscription.expiration_date }} ({{ DAYS_PASSED }} дн. назад). "
              "Продлите подписку, чтобы восстановить сервис.</p>",
              _HELLO_EN + "<p>Subscription {{ subscription.id }} — {{ subscription.name }} "
              "expired on {{ subscription.expiration_date }} ({{ DAYS_PASSED }} days ago). "
              "Renew it to restore the service.</p>"),
        rule="subscription.days_passed = 1", send_hour=9),
    DefaultTemplate(
        "subscription_changed", OWNER,
        {"ru": "Подписка «{{ subscription.name }}» изменена",
         "en": "Subscription {{ subscription.name }} has changed"},
        _mail(_HELLO_RU + "<p>Подписка «{{ subscription.id }} — {{ subscription.name }}» "
              "(тарифный план «{{ plan.name }}»): статус «{{ subscription.status }}», "
              "действует до {{ subscription.expiration_date }}.</p>",
              _HELLO_EN + "<p>Subscription {{ subscription.id }} — {{ subscription.name }} "
              "(plan {{ plan.name }}): status {{ subscription.status }}, valid until "
              "{{ subscription.expiration_date }}.</p>")),
    DefaultTemplate(
        "subscription_changed", "",
        {"ru": "Подписка «{{ subscription.name }}» изменена",
         "en": "Subscription {{ subscription.name }} has changed"},
        {"ru": "Подписка «{{ subscription.id }} — {{ subscription.name }}»: статус "
               "«{{ subscription.status }}», действует до {{ subscription.expiration_date }}.",
         "en": "Subscription {{ subscription.id }} — {{ subscription.name }}: status "
               "{{ subscription.status }}, valid until {{ subscription.expiration_date }}."},
        type=TemplateType.CLIENT_PANEL, user_id="{{ owner.id }}"),
    DefaultTemplate(
        "user_invitation", "{{ user_invite.email }}",
        {"ru": "Приглашение в {{ reseller.name }}", "en": "Invitation to {{ reseller.name }}"},
        _mail("<p>Здравствуйте!</p>\n<p>{{ inviter.short_name }} приглашает вас в панель "
              "управления клиента «{{ account.name }}». Чтобы принять приглашение, откройте "
              "ссылку: <a href=\"{{ invite_url }}\">{{ invite_url }}</a>.</p>",
              "<p>Hello!</p>\n<p>{{ inviter.short_name }} invites you to the control panel of "
              "{{ account.name }}. To accept, open this link: <a href=\"{{ invite_url }}\">"
              "{{ invite_url }}</a>.</p>")),
    DefaultTemplate(
        "order_changed", OWNER,
        {"ru": "Заказ {{ order.number }}: {{ order.status }}",
         "en": "Order {{ order.number }}: {{ order.status }}"},
        _mail(_HELLO_RU + "<p>Статус заказа {{ order.number }} от {{ order.created_at }} "
              "изменён: «{{ order.status.was }}» → «{{ order.status }}».</p>\n" + _ORDER_LINES
              + "<p>Итого: {{ order.total | format_as_currency }}.</p>",
              _HELLO_EN + "<p>The status of order {{ order.number }} of {{ order.created_at }} "
              "has changed: {{ order.status.was }} → {{ order.status }}.</p>\n" + _ORDER_LINES
              + "<p>Total: {{ order.total | format_as_currency }}.</p>"),
        rule=_NOT_PROLONG_ON_EXPIRY),
    DefaultTemplate(
        "order_created", OWNER,
        {"ru": "Заказ {{ order.number }} создан", "en": "Order {{ order.number }} created"},
        _mail(_HELLO_RU + "<p>Создан заказ {{ order.number }} от {{ order.created_at }}.</p>\n"
              + _ORDER_LINES + "<p>Итого: {{ order.total | format_as_currency }}.</p>\n"
              "{% if payment.link %}<p>Оплатить: <a href=\"{{ payment.link }}\">"
              "{{ payment.link }}</a></p>{% endif %}",
              _HELLO_EN + "<p>Order {{ order.number }} of {{ order.created_at }} has been "
              "created.</p>\n" + _ORDER_LINES
              + "<p>Total: {{ order.total | format_as_currency }}.</p>\n"
              "{% if payment.link %}<p>Pay: <a href=\"{{ payment.link }}\">"
              "{{ payment.link }}</a></p>{% endif %}"),
        rule=_NOT_PROLONG_ON_EXPIRY),
    DefaultTemplate(
        "user_created_password_reset", "{{ user.email }}",
        {"ru": "Доступ к {{ reseller.name }}", "en": "Your access to {{ reseller.name }}"},
        _mail("<p>Здравствуйте, {{ user.first_name }}!</p>\n<p>Для вас создан пользователь "
              "клиента «{{ account.name }}», логин {{ user.email }}. Чтобы задать пароль, "
              "откройте ссылку: <a href=\"{{ reset_password_url }}\">{{ reset_password_url }}"
              "</a>. Ссылка одноразовая.</p>",
              "<p>Hello, {{ user.first_name }}!</p>\n<p>A user of {{ account.name }} has been "
              "created for you; your login is {{ user.email }}. To set your password, open "
              "this link: <a href=\"{{ reset_password_url }}\">{{ reset_password_url }}</a>. "
              "It works once.</p>")),
    DefaultTemplate(
        "net_cost_changed", STAFF,
        {"ru": "Себестоимость изменилась: {{ price_changed_total }} тарифн. планов",
         "en": "Net cost has been changed: {{ price_changed_total }} plans"},
        _mail("<p>{{ price_changed_time }} изменилась себестоимость тарифных планов "
              "({{ price_changed_total }}):</p>\n<ul>\n{% for plan in plans %}<li><a href=\""
              "{{ plan.link }}\">{{ plan.name }}</a> (ID {{ plan.id }})</li>\n{% endfor %}"
              "</ul>\n<p>Проверьте цены: <a href=\"{{ price_list.link }}\">прайс-лист</a>.</p>",
              "<p>On {{ price_changed_time }} the net cost of {{ price_changed_total }} plans "
              "changed:</p>\n<ul>\n{% for plan in plans %}<li><a href=\"{{ plan.link }}\">"
              "{{ plan.name }}</a> (ID {{ plan.id }})</li>\n{% endfor %}</ul>\n<p>Check your "
              "prices: <a href=\"{{ price_list.link }}\">price list</a>.</p>")),
    DefaultTemplate(
        "billing_day_coming", OWNER,
        {"ru": "Финансовый день {{ billing_day_date }}",
         "en": "Billing day {{ billing_day_date }}"},
        _mail(_HELLO_RU + "<p>{{ billing_day_date }} (через {{ billing_day_left }} дн.) с "
              "баланса клиента «{{ account.name }}» будет списано "
              "{{ billing_day_open_charges_amount | format_as_currency }}.</p>\n" + _BALANCE_RU,
              _HELLO_EN + "<p>On {{ billing_day_date }} (in {{ billing_day_left }} days) "
              "{{ billing_day_open_charges_amount | format_as_currency }} will be charged to "
              "the balance of {{ account.name }}.</p>\n" + _BALANCE_EN),
        # 09 BD-6: monthly billing only, three days ahead.
        rule="billing_day_left = 3 and monthly_billing = true", send_hour=9),
    DefaultTemplate(
        "billing_day_come", "{{ manager.email }}",
        {"ru": "Финансовый день {{ billing_day_date }}: ваши клиенты",
         "en": "Billing day {{ billing_day_date }}: your clients"},
        _mail("<p>{{ manager.name }}, финансовый день наступил. Прошлый период: "
              "{{ previous_billing_period_start_day }} — {{ previous_billing_period_end_day }}."
              "</p>\n<table>\n{% for client in manager_accounts %}<tr><td>{{ client.id }}</td>"
              "<td>{{ client.primary_name }}</td>"
              "<td>{{ client.balance | format_as_currency }}</td></tr>\n{% endfor %}</table>",
              "<p>{{ manager.name }}, the billing day has come. Previous period: "
              "{{ previous_billing_period_start_day }} — {{ previous_billing_period_end_day }}."
              "</p>\n<table>\n{% for client in manager_accounts %}<tr><td>{{ client.id }}</td>"
              "<td>{{ client.primary_name }}</td>"
              "<td>{{ client.balance | format_as_currency }}</td></tr>\n{% endfor %}</table>")),
    # Events whose source may not exist yet: installed once event_types marks them available.
    DefaultTemplate(
        "payment_due_date_coming", OWNER,
        {"ru": "Срок оплаты платежа {{ payment.document_number }} истекает",
         "en": "Payment {{ payment.document_number }} is due soon"},
        _mail(_HELLO_RU + "<p>Платёж {{ payment.document_number }} на сумму "
              "{{ payment.total | format_as_currency }} нужно оплатить до "
              "{{ payment.expiration_date }} (осталось {{ payment.days_left }} дн.), иначе "
              "подписки будут заблокированы:</p>\n<ul>\n{% for subscription in "
              "payment.subscriptions %}<li>{{ subscription.id }} — {{ subscription.name }}</li>"
              "\n{% endfor %}</ul>\n<p><a href=\"{{ payment.link }}\">{{ payment.link }}</a></p>",
              _HELLO_EN + "<p>Payment {{ payment.document_number }} of "
              "{{ payment.total | format_as_currency }} is due by {{ payment.expiration_date }} "
              "({{ payment.days_left }} days left); after that the subscriptions are "
              "blocked:</p>\n<ul>\n{% for subscription in payment.subscriptions %}<li>"
              "{{ subscription.id }} — {{ subscription.name }}</li>\n{% endfor %}</ul>\n"
              "<p><a href=\"{{ payment.link }}\">{{ payment.link }}</a></p>"),
        rule="payment.days_left = 3", send_hour=9),
    DefaultTemplate(
        "invoice_closed", OWNER,
        {"ru": "Акт {{ invoice.document_number }}", "en": "Invoice {{ invoice.document_number }}"},
        _mail(_HELLO_RU + "<p>Сформирован акт {{ invoice.document_number }} за период "
              "{{ invoice.from_date }} — {{ invoice.to_date }} на сумму "
              "{{ invoice.total | format_as_currency }}.</p>",
              _HELLO_EN + "<p>Invoice {{ invoice.document_number }} for "
              "{{ invoice.from_date }} — {{ invoice.to_date }} has been issued: "
              "{{ invoice.total | format_as_currency }}.</p>")),
    DefaultTemplate(
        "postpay_payment_created", OWNER,
        {"ru": "Счёт {{ payment.document_number }} по постоплате",
         "en": "Postpaid payment {{ payment.document_number }}"},
        _mail(_HELLO_RU + "<p>По итогам периода {{ payment.invoice_from_date }} — "
              "{{ payment.invoice_to_date }} выставлен платёж {{ payment.document_number }} на "
              "сумму {{ payment.total | format_as_currency }}. Оплатите его до "
              "{{ payment.expiration_date }}.</p>\n"
              "<p><a href=\"{{ payment.link }}\">{{ payment.link }}</a></p>",
              _HELLO_EN + "<p>For {{ payment.invoice_from_date }} — "
              "{{ payment.invoice_to_date }} payment {{ payment.document_number }} of "
              "{{ payment.total | format_as_currency }} has been issued. Please pay it by "
              "{{ payment.expiration_date }}.</p>\n"
              "<p><a href=\"{{ payment.link }}\">{{ payment.link }}</a></p>")),
    DefaultTemplate(
        "subscription_trial_to_paid", OWNER,
        {"ru": "Подписка «{{ subscription.name }}» переведена на платный период",
         "en": "Subscription {{ subscription.name }} is no longer a trial"},
        _mail(_HELLO_RU + "<p>Пробный период подписки «{{ subscription.id }} — "
              "{{ subscription.name }}» (продукт {{ product.name }}) закончился, подписка "
              "переведена на платный период тарифного плана «{{ plan.name }}».</p>",
              _HELLO_EN + "<p>The trial of subscription {{ subscription.id }} — "
              "{{ subscription.name }} (product {{ product.name }}) has ended; it continues "
              "on the paid period of plan {{ plan.name }}.</p>")),
    DefaultTemplate(
        "verify_email", "{{ user.email }}",
        {"ru": "Подтвердите e-mail", "en": "Confirm your e-mail"},
        _mail("<p>Здравствуйте, {{ user.first_name }}!</p>\n<p>Чтобы подтвердить адрес "
              "{{ user.email }}, откройте ссылку: <a href=\"{{ confirmation_url }}\">"
              "{{ confirmation_url }}</a>.</p>",
              "<p>Hello, {{ user.first_name }}!</p>\n<p>To confirm {{ user.email }}, open this "
              "link: <a href=\"{{ confirmation_url }}\">{{ confirmation_url }}</a>.</p>")),
    DefaultTemplate(
        "guaranteed_payment_created", OWNER,
        {"ru": "Обещанный платёж предоставлен", "en": "Guaranteed payment granted"},
        _mail(_HELLO_RU + "<p>Клиенту «{{ account.name }}» предоставлен обещанный платёж на "
              "сумму {{ guaranteed_payment.total | format_as_currency }} до "
              "{{ guaranteed_payment.expiration_date }}.</p>",
              _HELLO_EN + "<p>{{ account.name }} has been granted a guaranteed payment of "
              "{{ guaranteed_payment.total | format_as_currency }} until "
              "{{ guaranteed_payment.expiration_date }}.</p>")),
    DefaultTemplate(
        "guaranteed_payment_changed", OWNER,
        {"ru": "Обещанный платёж изменён", "en": "Guaranteed payment changed"},
        _mail(_HELLO_RU + "<p>Статус обещанного платежа на сумму "
              "{{ guaranteed_payment.total | format_as_currency }}: "
              "«{{ guaranteed_payment.status }}».</p>",
              _HELLO_EN + "<p>The guaranteed payment of "
              "{{ guaranteed_payment.total | format_as_currency }} is now "
              "{{ guaranteed_payment.status }}.</p>")),
    DefaultTemplate(
        "guaranteed_payment_will_expire", OWNER,
        {"ru": "Обещанный платёж истекает {{ guaranteed_payment.expiration_date }}",
         "en": "Guaranteed payment expires on {{ guaranteed_payment.expiration_date }}"},
        _mail(_HELLO_RU + "<p>Обещанный платёж на сумму "
              "{{ guaranteed_payment.total | format_as_currency }} истекает через "
              "{{ guaranteed_payment.days_left }} дн. Пополните баланс.</p>",
              _HELLO_EN + "<p>The guaranteed payment of "
              "{{ guaranteed_payment.total | format_as_currency }} expires in "
              "{{ guaranteed_payment.days_left }} days. Please top up the balance.</p>"),
        rule="guaranteed_payment.days_left = 1", send_hour=9),
    DefaultTemplate(
        "days_left_to_pay", OWNER,
        {"ru": "Оплатите подписку «{{ subscription.name }}»",
         "en": "Please pay for subscription {{ subscription.name }}"},
        _mail(_HELLO_RU + "<p>До окончания оплаченного периода подписки "
              "«{{ subscription.name }}» осталось {{ subscription.days_left }} дн. Для продления "
              "нужно {{ subscription.renewal_amount | format_as_currency }}.</p>",
              _HELLO_EN + "<p>The paid period of subscription {{ subscription.name }} ends "
              "in {{ subscription.days_left }} days. The renewal needs "
              "{{ subscription.renewal_amount | format_as_currency }}.</p>"),
        rule="subscription.days_left = 5", send_hour=9),
    DefaultTemplate(
        "phone_verification", "{{ account.phone }}",
        {"ru": "", "en": ""},
        {"ru": "Код подтверждения: {{ token }}", "en": "Verification code: {{ token }}"},
        type=TemplateType.SMS),
    DefaultTemplate(
        "csp_price_update", OWNER,
        {"ru": "Цены Microsoft CSP изменятся", "en": "Microsoft CSP prices are changing"},
        _mail(_HELLO_RU + "<p>Цены на подписку «{{ subscription.name }}» (продукт "
              "{{ product.name }}) обновляются. Подписка действует до "
              "{{ subscription.expiration_date }}.</p>",
              _HELLO_EN + "<p>The prices of subscription {{ subscription.name }} (product "
              "{{ product.name }}) are being updated. The subscription is valid until "
              "{{ subscription.expiration_date }}.</p>"),
        rule="subscription.days_left = 30", send_hour=9),
    DefaultTemplate(
        "csp_price_upload", STAFF,
        {"ru": "Загружены цены CSP", "en": "CSP prices uploaded"},
        _mail("<p>Новые базовые цены Microsoft CSP действуют с "
              "{{ csp_price_file.accepted_at }}.</p>",
              "<p>The new Microsoft CSP base prices apply from "
              "{{ csp_price_file.accepted_at }}.</p>")),
    DefaultTemplate(
        "invoice_request_sent", STAFF,
        {"ru": "Заявка на счёт: {{ account.name }}", "en": "Invoice request: {{ account.name }}"},
        _mail("<p>Клиент «{{ account.name }}» (ID {{ account.id }}) запросил счёт по платежу "
              "{{ payment.document_number }} на сумму "
              "{{ payment.total | format_as_currency }}.</p>",
              "<p>{{ account.name }} (ID {{ account.id }}) asks for an invoice for payment "
              "{{ payment.document_number }} of {{ payment.total | format_as_currency }}.</p>")),
    DefaultTemplate(
        "topup_invoice_ready", OWNER,
        {"ru": "Счёт на пополнение баланса {{ payment.document_number }}",
         "en": "Top-up invoice {{ payment.document_number }}"},
        _mail(_HELLO_RU + "<p>Счёт {{ payment.document_number }} на сумму "
              "{{ payment.total | format_as_currency }} готов.</p>\n"
              "<p><a href=\"{{ payment.link }}\">{{ payment.link }}</a></p>",
              _HELLO_EN + "<p>Invoice {{ payment.document_number }} of "
              "{{ payment.total | format_as_currency }} is ready.</p>\n"
              "<p><a href=\"{{ payment.link }}\">{{ payment.link }}</a></p>")),
    DefaultTemplate(
        "reporting_period_closed", OWNER,
        {"ru": "Отчётный период закрыт", "en": "Reporting period closed"},
        _mail(_HELLO_RU + "<p>Отчётный период клиента «{{ account.name }}» закрыт "
              "{{ billing_day_date }}.</p>\n" + _BALANCE_RU,
              _HELLO_EN + "<p>The reporting period of {{ account.name }} closed on "
              "{{ billing_day_date }}.</p>\n" + _BALANCE_EN)),
    DefaultTemplate(
        "vsp_resources_changed", OWNER,
        {"ru": "Ресурсы подписки «{{ subscription.name }}» изменены",
         "en": "Resources of subscription {{ subscription.name }} changed"},
        _mail(_HELLO_RU + "<p>Ресурсы подписки «{{ subscription.name }}» изменены:</p>\n<ul>\n"
              "{% for resource in subscription.resources %}<li>{{ resource.name }}: "
              "{{ resource.included | plus: resource.additional }}</li>\n{% endfor %}</ul>",
              _HELLO_EN + "<p>The resources of subscription {{ subscription.name }} have "
              "changed:</p>\n<ul>\n{% for resource in subscription.resources %}<li>"
              "{{ resource.name }}: {{ resource.included | plus: resource.additional }}</li>\n"
              "{% endfor %}</ul>")),
    DefaultTemplate(
        "vsp_subscription_created", OWNER,
        {"ru": "Подписка «{{ subscription.name }}» активна",
         "en": "Subscription {{ subscription.name }} is active"},
        _mail(_HELLO_RU + "<p>Подписка «{{ subscription.id }} — {{ subscription.name }}» "
              "установлена и активна.</p>",
              _HELLO_EN + "<p>Subscription {{ subscription.id }} — {{ subscription.name }} has "
              "been installed and is active.</p>")),
    DefaultTemplate(
        "create_instance", OWNER,
        {"ru": "Сервер создан", "en": "Server created"},
        _mail(_HELLO_RU + "<p>В подписке «{{ subscription.name }}» создан сервер.</p>",
              _HELLO_EN + "<p>A server has been created in subscription "
              "{{ subscription.name }}.</p>")),
    DefaultTemplate(
        "reset_instance_password", OWNER,
        {"ru": "Пароль сервера сброшен", "en": "Server password reset"},
        _mail(_HELLO_RU + "<p>Пароль сервера в подписке «{{ subscription.name }}» "
              "сброшен.</p>",
              _HELLO_EN + "<p>The server password in subscription {{ subscription.name }} "
              "has been reset.</p>")),
    DefaultTemplate(
        "postpay_credit_limit_changed", OWNER,
        {"ru": "Кредитный лимит подписки «{{ subscription.name }}» изменён",
         "en": "Credit limit of subscription {{ subscription.name }} changed"},
        _mail(_HELLO_RU + "<p>Кредитный лимит подписки «{{ subscription.name }}» теперь "
              "{{ subscription_postpay.credit_limit | format_as_currency }}.</p>",
              _HELLO_EN + "<p>The credit limit of subscription {{ subscription.name }} is now "
              "{{ subscription_postpay.credit_limit | format_as_currency }}.</p>")),
    DefaultTemplate(
        "postpay_credit_limit_approaching", OWNER,
        {"ru": "Приближение к кредитному лимиту", "en": "Credit limit is approaching"},
        _mail(_HELLO_RU + "<p>Задолженность по подписке «{{ subscription.name }}» — "
              "{{ subscription_postpay.current_debt | format_as_currency }} при лимите "
              "{{ subscription_postpay.credit_limit | format_as_currency }}.</p>",
              _HELLO_EN + "<p>The debt of subscription {{ subscription.name }} is "
              "{{ subscription_postpay.current_debt | format_as_currency }} of a "
              "{{ subscription_postpay.credit_limit | format_as_currency }} limit.</p>"),
        # 09 EX-23.
        rule="subscription_postpay.credit_limit % 70 < subscription_postpay.current_debt"),
    DefaultTemplate(
        "closing_documents_ready", OWNER,
        {"ru": "Закрывающие документы готовы", "en": "Closing documents are ready"},
        _mail(_HELLO_RU + "<p>Закрывающие документы по акту {{ invoice.document_number }} "
              "готовы и доступны в панели управления.</p>",
              _HELLO_EN + "<p>The closing documents of invoice {{ invoice.document_number }} "
              "are ready in the control panel.</p>")),
    DefaultTemplate(
        "invoice_approved", OWNER,
        {"ru": "Счёт {{ invoice.document_number }} подтверждён",
         "en": "Invoice {{ invoice.document_number }} approved"},
        _mail(_HELLO_RU + "<p>Счёт {{ invoice.document_number }} подтверждён; оплатите его до "
              "{{ invoice.due_date }}.</p>\n{% if invoice.attached.url %}<p><a href=\""
              "{{ invoice.attached.url }}\">{{ invoice.attached.name }}</a></p>{% endif %}",
              _HELLO_EN + "<p>Invoice {{ invoice.document_number }} has been approved; please "
              "pay it by {{ invoice.due_date }}.</p>\n{% if invoice.attached.url %}<p><a "
              "href=\"{{ invoice.attached.url }}\">{{ invoice.attached.name }}</a></p>"
              "{% endif %}")),
    DefaultTemplate(
        "joined_payment_created", OWNER,
        {"ru": "Объединённый платёж {{ payment.document_number }}",
         "en": "Joined payment {{ payment.document_number }}"},
        _mail(_HELLO_RU + "<p>Создан платёж {{ payment.document_number }} на сумму "
              "{{ payment.total | format_as_currency }} за услуги с "
              "{{ payment.earliest_charge_from_date | format_as_date }}:</p>\n<ul>\n"
              "{% for subscription in payment.subscriptions %}<li>{{ subscription.id }} — "
              "{{ subscription.name }}</li>\n{% endfor %}</ul>\n"
              "<p><a href=\"{{ payment.link }}\">{{ payment.link }}</a></p>",
              _HELLO_EN + "<p>Payment {{ payment.document_number }} of "
              "{{ payment.total | format_as_currency }} for services from "
              "{{ payment.earliest_charge_from_date | format_as_date }} has been created:</p>\n"
              "<ul>\n{% for subscription in payment.subscriptions %}<li>{{ subscription.id }} — "
              "{{ subscription.name }}</li>\n{% endfor %}</ul>\n"
              "<p><a href=\"{{ payment.link }}\">{{ payment.link }}</a></p>")),
    DefaultTemplate(
        "external_promo_code_added", OWNER,
        {"ru": "Ваш промокод {{ promo_vendor.name }}",
         "en": "Your {{ promo_vendor.name }} promo code"},
        _mail(_HELLO_RU + "<p>Промокод {{ promo_vendor.name }}: <b>{{ promo_code.code }}</b>, "
              "действует до {{ promo_code.valid_until }}.</p>",
              _HELLO_EN + "<p>Your {{ promo_vendor.name }} promo code: "
              "<b>{{ promo_code.code }}</b>, valid until {{ promo_code.valid_until }}.</p>")),
)


def _name(language: str, event_key: str, template_type: TemplateType) -> str:
    """A template's name in the operator's language: the event's name, plus the channel."""
    event = event_type(event_key)
    if language == "ru":
        name = event.ru_name
        suffix = " (панель клиента)"
    else:
        with force_locale("en"):
            name = str(event.name)
        suffix = " (client panel)"
    return name + suffix if template_type == TemplateType.CLIENT_PANEL else name


def _category_name(language: str, default) -> str:
    if language == "ru":
        return default.ru_name
    with force_locale("en"):
        return str(default.name)


def _category_description(language: str, default) -> str:
    with force_locale(language):
        return str(default.description)


def _existing_keys(model, reseller: Reseller) -> dict[str, object]:
    return {row.default_key: row for row in db.session.scalars(
        select(model).where(model.reseller_id == reseller.id, model.default_key.is_not(None)))}


def _installed(model, root: Reseller, key: str, now, **values):
    return model(reseller_id=root.id, installed=True, modified=False, default_key=key,
                 updated_at=now, **values)


def install_default_notifications(root: Reseller) -> dict[str, int]:
    """Install the operator's default set once; return what was added (09 DEL-5).

    Idempotent: a default whose key the root already has is left as the operator edited it.
    The rows go in with a few batched statements (every test's operator gets them); resellers
    that already exist below the operator receive copies (D1).
    """
    if not root.is_root:
        raise NotificationError("Only the Operator has installed notifications (09 DEL-5).")
    language = root.default_language if root.default_language in ("ru", "en") else "ru"
    now = clock.now()
    categories = _existing_keys(NotificationCategory, root)
    taken = {name.lower() for name in db.session.scalars(select(NotificationCategory.name).where(
        NotificationCategory.reseller_id == root.id))}
    new_categories = []
    for default in DEFAULT_CATEGORIES:
        if default.key in categories:
            continue
        name = _category_name(language, default)
        if name.lower() in taken:  # the operator already has a category of that name
            name = f"{name} ({default.key})"
        taken.add(name.lower())
        category = _installed(
            NotificationCategory, root, default.key, now, name=name,
            description=_category_description(language, default), published=default.published,
            enabled_on_client_creation=default.enabled_on_client_creation)
        categories[default.key] = category
        new_categories.append(category)
    db.session.add_all(new_categories)
    db.session.flush()

    available = {event.key for event in available_event_types()}
    defaults = [d for d in DEFAULT_TEMPLATES if d.event in available]
    templates = _existing_keys(NotificationTemplate, root)
    new_templates = []
    for default in defaults:
        if default.key in templates:
            continue
        template = _installed(
            NotificationTemplate, root, default.key, now, type=default.type,
            name=_name(language, default.event, default.type),
            category_id=categories[event_type(default.event).category].id,
            sender=SENDER if default.type == TemplateType.EMAIL else "",
            recipient=default.recipient, cc=default.cc, bcc="", user_id=default.user_id)
        template.contents = [NotificationTemplateContent(
            reseller_id=root.id, language=lang, subject=default.subject[lang],
            body=default.body[lang]) for lang in CONTENT_LANGUAGES]
        template.default_snapshot = default_snapshot(template)
        templates[default.key] = template
        new_templates.append(template)
    db.session.add_all(new_templates)
    db.session.flush()

    handlers = _existing_keys(NotificationEvent, root)
    new_handlers = [
        _installed(NotificationEvent, root, default.key, now, event_type=default.event,
                   template_type=default.type, template_id=templates[default.key].id,
                   send_immediately=default.send_hour is None, send_hour=default.send_hour,
                   rule=default.rule, rule_key=rule_key(default.rule),
                   status=HandlerStatus.ACTIVE)
        for default in defaults if default.key not in handlers]
    db.session.add_all(new_handlers)
    db.session.flush()

    below = db.session.scalar(select(Reseller.id).where(Reseller.parent_id == root.id).limit(1))
    for kind, rows in ((CATEGORY, new_categories), (TEMPLATE, new_templates),
                       (HANDLER, new_handlers)):
        audit_many(rows, f"{kind.code}.installed")
        for row in rows if below is not None else ():  # resellers older than the set
            audit_many(create_copies(kind, row, now=now), f"{kind.code}.delegated",
                       data={"source_reseller_id": root.id})
    return {"categories": len(new_categories), "templates": len(new_templates),
            "handlers": len(new_handlers)}
