"""Delivery: email the weekly report with smtplib (off unless ``[delivery.email] enabled``)."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from pathlib import Path

from cadence.errors import CadenceError


class DeliveryError(CadenceError):
    """The report could not be sent; the message says where it failed and what to check."""


def send_report(
    *,
    host: str,
    port: int,
    sender: str,
    recipients: Sequence[str],
    subject: str,
    text: str,
    attachments: Sequence[Path],
    starttls: bool = True,
    use_ssl: bool = False,
    username: str | None = None,
    password: str | None = None,
    timeout: float = 60.0,
) -> None:
    """Send one message with the reports attached (HTML files, as they are)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message.set_content(text)
    for path in attachments:
        message.add_attachment(
            path.read_bytes(), maintype="text", subtype="html", filename=path.name
        )
    context = ssl.create_default_context()
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
            smtp.send_message(message)
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryError(
            f"{host}:{port} refused the login of {username!r} ({exc.smtp_code}); "
            "check [delivery.email] username and $CADENCE_SMTP_PASSWORD"
        ) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"sending the report through {host}:{port} failed: {exc}") from None
