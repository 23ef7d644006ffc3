"""Delivery: email the weekly report with smtplib (off unless ``[delivery.email] enabled``)."""

from __future__ import annotations

import io
import smtplib
import ssl
import zipfile
from collections.abc import Sequence
from email.message import EmailMessage
from pathlib import Path

from cadence.errors import DeliveryError


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
    zip_name: str = "cadence-reports",
) -> None:
    """Send one message with the reports attached in one zip file.

    Each report embeds plotly.js (~5 MB); zipped, the two reports of a week
    travel as ~3 MB, under the usual 10 MB mail limits even after base64.
    """
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message.set_content(text)
    if attachments:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for path in attachments:
                archive.write(path, arcname=path.name)
        message.add_attachment(
            buffer.getvalue(),
            maintype="application",
            subtype="zip",
            filename=f"{zip_name}.zip",
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
