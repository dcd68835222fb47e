"""The `smscru` SMS module: smsc.ru's HTTP API (09 §2.6, SMS-1).

POST https://smsc.ru/sys/send.php with login, psw, phones, mes, sender, charset=utf-8 and
fmt=3 (a JSON answer: {"id": …, "cnt": …} or {"error": …, "error_code": …}). The endpoint is
the gateway's "Конечная точка сервиса" setting, so a test points it at a local server.
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.parse
import urllib.request

from portal.notifications.connectors.base import SmsConnector, SmsError

DEFAULT_URL = "https://smsc.ru/sys/send.php"
TIMEOUT_SECONDS = 15
# smsc.ru error codes that another try cannot fix: bad parameters, credentials, a forbidden
# text or sender, a bad number, a number that cannot be reached.
PERMANENT_ERRORS = {1, 2, 6, 7, 8}


class SmscRuGateway(SmsConnector):
    settings_fields = ("login", "password", "sender", "url")

    @property
    def url(self) -> str:
        return str(self.settings.get("url") or DEFAULT_URL)

    def send(self, phone: str, text: str) -> str:
        login, password = self.settings.get("login"), self.settings.get("password")
        if not login or not password:
            raise SmsError("smsc.ru: the gateway has no login or password", permanent=True)
        if not self.url.startswith(("https://", "http://")):
            raise SmsError(f"smsc.ru: bad endpoint {self.url!r}", permanent=True)
        fields = {"login": login, "psw": password, "phones": phone, "mes": text,
                  "charset": "utf-8", "fmt": "3"}
        if self.settings.get("sender"):
            fields["sender"] = self.settings["sender"]
        # POST keeps the password out of URLs and access logs.
        request = urllib.request.Request(
            self.url, data=urllib.parse.urlencode(fields).encode(), method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        try:
            # http(s) only, checked above.
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
                raw = response.read(65536)
        except urllib.error.HTTPError as error:
            raise SmsError(f"smsc.ru: HTTP {error.code}", permanent=False) from error
        except (urllib.error.URLError, socket.timeout, OSError) as error:
            reason = getattr(error, "reason", error)
            raise SmsError(f"smsc.ru: {reason}") from error
        try:
            answer = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise SmsError("smsc.ru: the answer is not JSON") from error
        if not isinstance(answer, dict):
            raise SmsError("smsc.ru: unexpected answer")
        if "error" in answer or "error_code" in answer:
            code = answer.get("error_code")
            raise SmsError(f"smsc.ru error {code}: {answer.get('error', '')}".strip(),
                           permanent=code in PERMANENT_ERRORS)
        if "id" not in answer:
            raise SmsError("smsc.ru: the answer has no message id")
        return str(answer["id"])
