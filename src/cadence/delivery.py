"""Delivery: email (smtplib) and Slack / Teams webhooks (urllib3), all off unless configured.

The job builds what to send (:mod:`cadence.report.digest`); this module only
sends it and says, message by message, what failed."""

from __future__ import annotations

import json
import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from typing import Any

from cadence.errors import DeliveryError


def check_smtp(
    *,
    host: str,
    port: int,
    starttls: bool = True,
    use_ssl: bool = False,
    username: str | None = None,
    password: str | None = None,
    timeout: float = 20.0,
) -> None:
    """Connect, say hello, upgrade and log in as a delivery would, then leave; raise
    :class:`~cadence.errors.DeliveryError` saying what failed."""
    try:
        smtp: smtplib.SMTP
        if use_ssl:
            smtp = smtplib.SMTP_SSL(host, port, timeout=timeout)
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
        with smtp:
            smtp.ehlo()
            if starttls and not use_ssl:
                smtp.starttls(context=ssl.create_default_context())
            if username:
                smtp.login(username, password or "")
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"{host}:{port}: {exc}; check [delivery.email]") from None


# -- one message per leader ---------------------------------------------------------------------


def email_message(
    *,
    sender: str,
    to: Sequence[str],
    subject: str,
    text: str,
    html: str | None = None,
    attachments: Sequence[tuple[str, bytes, str]] = (),
) -> EmailMessage:
    """A message with a plain-text body, an HTML alternative and attachments given as
    (file name, content, MIME type); a ``text/calendar`` attachment says
    ``method=REQUEST`` so mail clients offer to send the invitation."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    for name, content, mime in attachments:
        maintype, subtype = mime.split("/", 1)
        params = {"charset": "utf-8"} if maintype == "text" else {}
        if mime == "text/calendar":
            params["method"] = "REQUEST"
        # as bytes (base64): the file arrives byte for byte, its line ends untouched
        message.add_attachment(
            content, maintype=maintype, subtype=subtype, filename=name, params=params
        )
    return message


def send_messages(
    messages: Sequence[EmailMessage],
    *,
    host: str,
    port: int,
    starttls: bool = True,
    use_ssl: bool = False,
    username: str | None = None,
    password: str | None = None,
    timeout: float = 60.0,
) -> list[str | None]:
    """Send each message over one connection; per message ``None`` (sent) or why not.

    A recipient the server refuses fails that message only; a server that cannot
    be reached or refuses the login fails them all, each with the same reason.
    """
    if not messages:
        return []
    context = ssl.create_default_context()
    out: list[str | None] = []
    try:
        smtp: smtplib.SMTP
        if use_ssl:
            smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
        with smtp:
            smtp.ehlo()
            if starttls and not use_ssl:
                smtp.starttls(context=context)
                smtp.ehlo()
            if username:
                smtp.login(username, password or "")
            for message in messages:
                try:
                    smtp.send_message(message)
                    out.append(None)
                except smtplib.SMTPRecipientsRefused as exc:
                    refused = ", ".join(sorted(exc.recipients))
                    out.append(f"{host}:{port} refused the recipient {refused}")
                except smtplib.SMTPResponseException as exc:
                    raw = exc.smtp_error
                    why = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
                    out.append(f"{host}:{port} refused the message ({exc.smtp_code} {why})")
    except smtplib.SMTPAuthenticationError as exc:
        why = (
            f"{host}:{port} refused the login of {username!r} ({exc.smtp_code}); "
            "check [delivery.email] username and $CADENCE_SMTP_PASSWORD"
        )
        return out + [why] * (len(messages) - len(out))
    except (smtplib.SMTPException, OSError) as exc:
        why = f"sending through {host}:{port} failed: {exc}"
        return out + [why] * (len(messages) - len(out))
    return out


# -- Slack and Teams ---------------------------------------------------------------------------


def post_json(
    url: str, payload: dict[str, Any], *, timeout: float = 20.0, retries: int = 3
) -> None:
    """POST ``payload`` to a webhook; retry a 429 (waiting as its ``Retry-After`` says) or a
    5xx with backoff; raise :class:`~cadence.errors.DeliveryError` naming the host (never
    the URL: it is the secret) when it still fails."""
    import urllib3

    host = urllib3.util.parse_url(url).host or "the webhook"
    retry = urllib3.Retry(
        total=retries,
        connect=retries,
        read=0,
        status=retries,
        backoff_factor=0.5,
        backoff_max=30,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=frozenset({"POST"}),
        respect_retry_after_header=True,
        raise_on_status=False,
    )
    pool = urllib3.PoolManager(retries=retry, timeout=urllib3.Timeout(connect=10, read=timeout))
    try:
        response = pool.request(
            "POST",
            url,
            body=json.dumps(payload).encode("utf-8"),
            headers={"Content-Type": "application/json; charset=utf-8"},
        )
    except urllib3.exceptions.MaxRetryError as exc:
        reason = exc.reason.__class__.__name__ if exc.reason else "no answer"
        raise DeliveryError(f"{host} did not answer ({reason})") from None
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise DeliveryError(f"{host} did not answer ({exc.__class__.__name__})") from None
    finally:
        pool.clear()
    if not 200 <= response.status < 300:
        body = response.data[:200].decode("utf-8", "replace").strip()
        raise DeliveryError(
            f"{host} answered HTTP {response.status}" + (f": {body}" if body else "")
        )
