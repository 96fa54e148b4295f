"""The HTML of the hosted sign-in pages' stand-in (local/hosted_ui.py), in English and French.

Plain, accessible forms: every field has a `<label for>`, an error is a sentence in `role="alert"`
that the fields point at (`aria-describedby`, `aria-invalid`), and the page has no script and no
inline style, so its Content-Security-Policy is `default-src 'self'`. The ids and names stay stable:
the web app's browser tests fill `#email`, `#password` and `#code`.
"""

from __future__ import annotations

from html import escape
from typing import Literal

from local.http_types import HttpResponse

Language = Literal["en", "fr"]
LANGUAGES: tuple[Language, ...] = ("en", "fr")

# Every string a page shows, per language (Cognito's managed login takes the language from `lang`).
TEXT: dict[Language, dict[str, str]] = {
    "en": {
        "sign_in_title": "Sign in",
        "email": "Email address",
        "password": "Password",
        "sign_in": "Sign in",
        "wrong_password": "Incorrect email address or password.",
        "missing_fields": "Enter your email address and your password.",
        "cannot_sign_in": "This account cannot sign in here. Contact your firm.",
        "code_title": "Enter your authenticator code",
        "code": "6-digit code from your authenticator app",
        "verify": "Verify",
        "wrong_code": "That code is not right. Enter the code your authenticator app shows now.",
        "code_format": "Enter the 6 digits of the code, without spaces.",
        "too_many_codes": "Too many wrong codes. Go back to the app and sign in again.",
        "session_expired": "Your sign-in took too long. Go back to the app and sign in again.",
        "busy": "Too many sign-ins are in progress. Try again in a few minutes.",
        "error_title": "Sign-in is not possible",
        "unknown_client": "This sign-in link is not valid: the application is not known here.",
        "unknown_redirect": (
            "This sign-in link is not valid: it would send you to an address the application has not "
            "registered."
        ),
        "repeated_parameter": "This link is not valid: it names a setting more than once.",
        "sign_out_title": "Sign-out is not possible",
        "unknown_logout": (
            "This sign-out link is not valid: it would send you to an address the application has not "
            "registered."
        ),
        "not_found_title": "Page not found",
        "not_found": "There is no such page.",
        "method_title": "Not allowed",
        "method": "This page cannot be used that way.",
    },
    "fr": {
        "sign_in_title": "Connexion",
        "email": "Adresse e-mail",
        "password": "Mot de passe",
        "sign_in": "Se connecter",
        "wrong_password": "Adresse e-mail ou mot de passe incorrect.",
        "missing_fields": "Saisissez votre adresse e-mail et votre mot de passe.",
        "cannot_sign_in": "Ce compte ne peut pas se connecter ici. Contactez votre cabinet.",
        "code_title": "Saisissez le code de votre application d'authentification",
        "code": "Code à 6 chiffres de votre application d'authentification",
        "verify": "Vérifier",
        "wrong_code": "Ce code n'est pas le bon. Saisissez le code affiché maintenant par votre application.",
        "code_format": "Saisissez les 6 chiffres du code, sans espace.",
        "too_many_codes": "Trop de codes erronés. Revenez à l'application et reconnectez-vous.",
        "session_expired": (
            "Votre connexion a pris trop de temps. Revenez à l'application et reconnectez-vous."
        ),
        "busy": "Trop de connexions sont en cours. Réessayez dans quelques minutes.",
        "error_title": "Connexion impossible",
        "unknown_client": "Ce lien de connexion n'est pas valide : l'application n'est pas connue ici.",
        "unknown_redirect": (
            "Ce lien de connexion n'est pas valide : il vous enverrait vers une adresse que l'application "
            "n'a pas enregistrée."
        ),
        "repeated_parameter": "Ce lien n'est pas valide : il donne un même réglage plusieurs fois.",
        "sign_out_title": "Déconnexion impossible",
        "unknown_logout": (
            "Ce lien de déconnexion n'est pas valide : il vous enverrait vers une adresse que l'application "
            "n'a pas enregistrée."
        ),
        "not_found_title": "Page introuvable",
        "not_found": "Cette page n'existe pas.",
        "method_title": "Non autorisé",
        "method": "Cette page ne peut pas être utilisée ainsi.",
    },
}

# No script, no inline style, nothing from elsewhere; never in a frame; the sign-in page's address
# (its `state`) is not sent on as a referrer; nothing is cached (a code or an error is for one moment).
SECURITY_HEADERS = (
    ("content-security-policy", "default-src 'self'; frame-ancestors 'none'"),
    ("x-frame-options", "DENY"),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("cache-control", "no-store"),
)


def language(requested: str) -> Language:
    """The page's language from Cognito's `lang` parameter (`fr`, `fr-FR`…); English otherwise."""
    primary = requested.strip().lower().split("-", 1)[0]
    return next((known for known in LANGUAGES if known == primary), "en")


def sign_in_page(status: int, lang: Language, action: str, email: str = "", error: str = "") -> HttpResponse:
    """The email and password form, posting to `action`; `error` is a TEXT key."""
    text = TEXT[lang]
    fields = _field(
        "email", "username", "email", text["email"], error, 'autocomplete="username"', email
    ) + _field("password", "password", "password", text["password"], error, 'autocomplete="current-password"')
    return _form_page(status, lang, text["sign_in_title"], error, action, fields, text["sign_in"])


def code_page(status: int, lang: Language, action: str, handle: str, error: str = "") -> HttpResponse:
    """The authenticator code form, posting to `action` with the challenge's `handle`."""
    text = TEXT[lang]
    attributes = 'inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6}" maxlength="6"'
    fields = f'<input type="hidden" name="session" value="{escape(handle, quote=True)}">' + _field(
        "code", "code", "text", text["code"], error, attributes
    )
    return _form_page(status, lang, text["code_title"], error, action, fields, text["verify"])


def message_page(status: int, lang: Language, title: str, message: str) -> HttpResponse:
    """A page that only says what went wrong (`title` and `message` are TEXT keys): no form, no link
    from the request."""
    text = TEXT[lang]
    return _html(status, lang, text[title], f'<p role="alert" id="error">{escape(text[message])}</p>')


def _form_page(
    status: int, lang: Language, title: str, error: str, action: str, fields: str, submit: str
) -> HttpResponse:
    alert = f'<p role="alert" id="error">{escape(TEXT[lang][error])}</p>' if error else ""
    form = (
        f'<form method="post" action="{escape(action, quote=True)}">{fields}'
        f'<p><button type="submit">{escape(submit)}</button></p></form>'
    )
    return _html(status, lang, title, alert + form)


def _field(
    field_id: str, name: str, kind: str, label: str, error: str, attributes: str, value: str = ""
) -> str:
    described = ' aria-describedby="error" aria-invalid="true"' if error else ""
    shown = f' value="{escape(value, quote=True)}"' if value else ""
    return (
        f'<p><label for="{field_id}">{escape(label)}</label><br>'
        f'<input id="{field_id}" name="{name}" type="{kind}" required {attributes}{shown}{described}></p>'
    )


def _html(status: int, lang: Language, title: str, content: str) -> HttpResponse:
    page = (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title></head><body><main><h1>{escape(title)}</h1>{content}</main></body></html>"
    )
    return HttpResponse(
        status, [("content-type", "text/html; charset=utf-8"), *SECURITY_HEADERS], page.encode()
    )
