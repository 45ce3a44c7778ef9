"""The three themes (dark, light, high-contrast), registered with Textual's theme system (no colours in CSS)."""

from __future__ import annotations

from textual.theme import Theme

# Semantic variables the stylesheets use besides Textual's own ($badge-local, $badge-queued, …).
_DARK_VARS = {
    "badge-local": "#4EBF71",
    "badge-queued": "#ffa62b",
    "card-border": "#3a3f4b",
    "card-cursor": "#0178D4",
}

THEMES: dict[str, Theme] = {
    "dark": Theme(
        name="modella-dark",
        primary="#0178D4",
        secondary="#004578",
        accent="#ffa62b",
        warning="#ffa62b",
        error="#ba3c5b",
        success="#4EBF71",
        foreground="#e0e0e0",
        background="#121212",
        surface="#1e1e1e",
        panel="#24292f",
        dark=True,
        variables=_DARK_VARS,
    ),
    "light": Theme(
        name="modella-light",
        primary="#005a9e",
        secondary="#0f6cbd",
        accent="#b35900",
        warning="#8a5300",
        error="#b00020",
        success="#1f7a3a",
        foreground="#1b1b1b",
        background="#f7f7f7",
        surface="#ffffff",
        panel="#e8e8e8",
        dark=False,
        variables={
            "badge-local": "#1f7a3a",
            "badge-queued": "#8a5300",
            "card-border": "#c4c4c4",
            "card-cursor": "#005a9e",
        },
    ),
    # Pure black and white with yellow focus: every pairing passes WCAG AAA.
    "high-contrast": Theme(
        name="modella-high-contrast",
        primary="#ffff00",
        secondary="#00ffff",
        accent="#ffff00",
        warning="#ffff00",
        error="#ff6060",
        success="#00ff00",
        foreground="#ffffff",
        background="#000000",
        surface="#000000",
        panel="#000000",
        boost="#ffffff",
        dark=True,
        luminosity_spread=0.0,
        text_alpha=1.0,
        variables={
            "badge-local": "#00ff00",
            "badge-queued": "#ffff00",
            "card-border": "#ffffff",
            "card-cursor": "#ffff00",
            "block-cursor-foreground": "#000000",
            "block-cursor-background": "#ffff00",
            "footer-key-foreground": "#ffff00",
        },
    ),
}


def textual_name(setting: str) -> str:
    """The Textual theme name for a `theme` setting value (unknown values fall back to dark)."""
    return THEMES.get(setting, THEMES["dark"]).name


def setting_name(textual_theme: str) -> str | None:
    """The `theme` setting value for a registered Textual theme name."""
    return next((k for k, v in THEMES.items() if v.name == textual_theme), None)
