"""Theme files: the shipped themes, user overrides, broken files and registration."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.color import Color as RichColor
from rich.color import ColorSystem
from rich.color_triplet import ColorTriplet
from rich.style import Style
from rich.terminal_theme import DEFAULT_TERMINAL_THEME
from textual.app import App

from cockpit.tui.themes import (
    DEFAULT_THEME,
    MIN_CONTRAST,
    SHIPPED_THEMES,
    contrast_ratio,
    legible,
    load_themes,
    register_themes,
    shipped_themes_dir,
    themed_style,
    user_themes_dirs,
)

GOOD = """
name = "{name}"
dark = {dark}
primary = "#112233"
secondary = "#223344"
accent = "#ffaa00"
foreground = "#eeeeee"
background = "#000000"
surface = "#101010"
panel = "#202020"
success = "#00ff00"
warning = "#ffff00"
error = "#ff0000"
"""


def write_theme(folder: Path, filename: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / filename
    path.write_text(text)
    return path


@pytest.fixture(autouse=True)
def isolated_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    return config


def test_shipped_themes_load_cleanly() -> None:
    themes, errors = load_themes([shipped_themes_dir()])
    assert errors == []
    by_name = {theme.name: theme for theme in themes}
    assert set(SHIPPED_THEMES) <= set(by_name)
    assert DEFAULT_THEME == "cockpit-dark"
    assert by_name["cockpit-dark"].dark is True
    assert by_name["cockpit-light"].dark is False
    contrast = by_name["cockpit-high-contrast"]
    assert contrast.dark is True
    assert contrast.background is not None and contrast.background.lower() == "#000000"
    assert contrast.foreground is not None and contrast.foreground.lower() == "#ffffff"


def test_user_dirs_follow_xdg_and_workspace(isolated_config: Path, tmp_path: Path) -> None:
    assert user_themes_dirs(None) == [isolated_config / "cockpit" / "themes"]
    assert user_themes_dirs(tmp_path / "ws") == [
        isolated_config / "cockpit" / "themes",
        tmp_path / "ws" / "themes",
    ]


def test_user_theme_joins_and_overrides(tmp_path: Path) -> None:
    user = tmp_path / "user"
    write_theme(user, "mine.toml", GOOD.format(name="mine", dark="true"))
    write_theme(user, "light.toml", GOOD.format(name="cockpit-light", dark="true"))
    themes, errors = load_themes([shipped_themes_dir(), user, tmp_path / "missing"])
    assert errors == []
    by_name = {theme.name: theme for theme in themes}
    assert by_name["mine"].primary == "#112233"
    # The user's file replaced the shipped one of the same name.
    assert by_name["cockpit-light"].dark is True
    assert [t.name for t in themes].count("cockpit-light") == 1


def test_variables_table_is_passed_through(tmp_path: Path) -> None:
    text = (
        GOOD.format(name="vars", dark="false")
        + '\n[variables]\n"footer-key-foreground" = "#123456"\n'
    )
    write_theme(tmp_path, "vars.toml", text)
    themes, errors = load_themes([tmp_path])
    assert errors == []
    assert themes[0].variables == {"footer-key-foreground": "#123456"}
    assert themes[0].dark is False


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (GOOD.format(name="bad", dark="true").replace('"#112233"', '"not-a-colour"'), "primary"),
        (GOOD.format(name="bad", dark="true") + 'sparkle = "yes"\n', "sparkle"),
        ('name = "bad"\ndark = \n', "TOML"),
        (GOOD.format(name="bad", dark="true").replace('panel = "#202020"\n', ""), "panel"),
    ],
    ids=["bad-colour", "unknown-key", "toml-syntax", "missing-key"],
)
def test_broken_file_is_one_line_error_and_others_load(
    tmp_path: Path, text: str, needle: str
) -> None:
    broken = write_theme(tmp_path, "broken.toml", text)
    write_theme(tmp_path, "fine.toml", GOOD.format(name="fine", dark="true"))
    themes, errors = load_themes([tmp_path])
    assert [t.name for t in themes] == ["fine"]
    assert len(errors) == 1
    (error,) = errors
    assert "\n" not in error
    assert str(broken) in error
    assert needle in error


async def test_register_on_app_allows_switching(isolated_config: Path, tmp_path: Path) -> None:
    write_theme(
        isolated_config / "cockpit" / "themes", "user.toml", GOOD.format(name="user-x", dark="true")
    )
    write_theme(tmp_path / "ws" / "themes", "broken.toml", "name = \n")
    app: App[None] = App()
    async with app.run_test() as pilot:
        errors = register_themes(app, tmp_path / "ws")
        assert len(errors) == 1 and "broken.toml" in errors[0]
        for name in (*SHIPPED_THEMES, "user-x"):
            assert name in app.available_themes
        assert "textual-dark" in app.available_themes
        app.theme = "cockpit-light"
        await pilot.pause()
        assert app.theme == "cockpit-light"
        assert app.current_theme.dark is False
        app.theme = "cockpit-high-contrast"
        await pilot.pause()
        assert app.current_theme.background == "#000000"


def test_contrast_ratio_follows_wcag() -> None:
    black, white = ColorTriplet(0, 0, 0), ColorTriplet(255, 255, 255)
    assert contrast_ratio(black, white) == pytest.approx(21)
    assert contrast_ratio(white, white) == pytest.approx(1)


def test_legible_moves_a_faint_colour_just_enough_in_both_colour_systems() -> None:
    # Yellow syntax on a light added-line tint: too faint, darkened until it reads.
    faint, tint = ColorTriplet(0xCB, 0x90, 0x00), ColorTriplet(0xD7, 0xE6, 0xDC)
    fixed = legible(faint, tint)
    assert contrast_ratio(fixed, tint) >= MIN_CONTRAST
    in_256 = [
        RichColor.from_triplet(c).downgrade(ColorSystem.EIGHT_BIT).get_truecolor()
        for c in (fixed, tint)
    ]
    assert contrast_ratio(*in_256) >= MIN_CONTRAST
    ink = ColorTriplet(0x11, 0x15, 0x1D)
    assert legible(ink, tint) == ink  # already legible: unchanged


def test_themed_style_leaves_nothing_to_the_terminal() -> None:
    base = Style(color="#11151d", bgcolor="#eef1f5")
    drawn = themed_style(Style(bold=True), base, DEFAULT_TERMINAL_THEME)
    assert drawn.color is not None and drawn.color.triplet is not None
    assert drawn.bgcolor is not None and drawn.bgcolor.triplet is not None
    dim = themed_style(Style(dim=True), base, DEFAULT_TERMINAL_THEME)
    assert not dim.dim and dim.color is not None and dim.color.triplet is not None


def test_lenient_values_still_load(tmp_path: Path) -> None:
    # What pydantic once accepted keeps loading: booleans spelt as words, a padded name.
    text = GOOD.format(name="  spaced  ", dark='"no"') + 'boost = "#FFFFFF10"\n'
    write_theme(tmp_path, "lenient.toml", text)
    themes, errors = load_themes([tmp_path])
    assert errors == []
    (theme,) = themes
    assert theme.name == "spaced" and theme.dark is False and theme.boost == "#FFFFFF10"


BAD = GOOD.format(name="bad", dark="true")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (BAD.replace("dark = true", "dark = 2"), "dark: expected true or false, got 2"),
        (BAD.replace('name = "bad"', "name = 3"), "name: expected a string, got 3"),
        (BAD.replace('name = "bad"', 'name = "  "'), "name: must not be empty"),
        (
            BAD.replace('"#112233"', '"bleu"'),
            "primary: not a colour: 'bleu' (did you mean 'blue'?)",
        ),
        (BAD + "[variables]\nk = 1\n", "variables: expected a string for 'k', got 1"),
    ],
    ids=["bool", "string", "blank-name", "colour", "variable"],
)
def test_a_bad_value_names_its_key_and_what_is_wrong(tmp_path: Path, text: str, says: str) -> None:
    write_theme(tmp_path, "bad.toml", text)
    _, errors = load_themes([tmp_path])
    assert errors == [f"theme {tmp_path / 'bad.toml'}: {says}"]


def test_every_problem_is_on_the_one_line(tmp_path: Path) -> None:
    text = BAD.replace('panel = "#202020"\n', "").replace('"#112233"', '"nope"')
    write_theme(tmp_path, "bad.toml", text + "sparkle = 1\n")
    _, errors = load_themes([tmp_path])
    assert errors == [
        f"theme {tmp_path / 'bad.toml'}: primary: not a colour: 'nope'; "
        "missing key 'panel'; unknown key 'sparkle'"
    ]
