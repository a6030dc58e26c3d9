"""The one build step pyproject.toml cannot declare: compiling the gettext catalogues.

The translations are committed as text (`bot/locale/<language>/LC_MESSAGES/stylebot.po`); the bot
reads compiled `.mo` files with the standard library's gettext. Every wheel (`pip install .`,
`pip wheel .`, `python -m build`) compiles them here with Babel (a build requirement in
pyproject.toml), so an install made without the Makefile speaks every language. They are not
committed: binary files that would go stale the moment a `.po` changed without a recompile.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

LOCALE = Path("bot", "locale")
DOMAIN = "stylebot"


def compile_catalogue(po_path: Path, mo_path: Path) -> None:
    """Writes `po_path` compiled to `mo_path` as `pybabel compile` does (fuzzy entries left out)."""
    try:
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po
    except ImportError as exc:  # only without build isolation, where Babel may be missing
        raise SystemExit(
            "stylebot: building the package needs Babel to compile the translations: "
            'pip install "Babel>=2.12,<3"') from exc
    with po_path.open("rb") as po_file:
        catalogue = read_po(po_file, domain=DOMAIN)
    mo_path.parent.mkdir(parents=True, exist_ok=True)
    with mo_path.open("wb") as mo_file:
        write_mo(mo_file, catalogue, use_fuzzy=False)


class BuildPyWithCatalogues(build_py):
    """`build_py` that also compiles every catalogue into the build (or, for an editable
    install, next to its `.po`, where the source tree is what gets imported)."""

    def run(self) -> None:
        super().run()
        for po_path in sorted(LOCALE.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
            if self.editable_mode:
                mo_path = po_path.with_suffix(".mo")
            else:
                mo_path = Path(self.build_lib) / po_path.with_suffix(".mo")
            compile_catalogue(po_path, mo_path)



setup(cmdclass={"build_py": BuildPyWithCatalogues})
