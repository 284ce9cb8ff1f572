"""The fictional world both the generator and the live sandbox use: cities, repositories, people, tables.

The tables are data, in world.yaml next to this module (each key is the lower-case name of a constant here);
this module loads it once, at import.
"""

from __future__ import annotations

from pathlib import Path

from mcpft_lib.core.fsutil import read_yaml

_WORLD = read_yaml(Path(__file__).with_suffix(".yaml"))

CITIES: list[tuple[str, str]] = list(_WORLD["cities"].items())  # (city, IANA timezone)
TZ_ABBREVIATIONS: list[tuple[str, str]] = list(_WORLD["tz_abbreviations"].items())  # not IANA keys
REPOS: list[str] = _WORLD["repos"]
CODE_FILES: list[str] = _WORLD["code_files"]
BRANCHES: list[str] = _WORLD["branches"]
BASE_BRANCHES: list[str] = _WORLD["base_branches"]
COMMIT_MESSAGES: list[str] = _WORLD["commit_messages"]
PEOPLE: list[str] = _WORLD["people"]
FS_ROOTS: list[str] = _WORLD["fs_roots"]
FS_FILES: list[str] = CODE_FILES + _WORLD["fs_files"]
FS_DIRS: list[str] = _WORLD["fs_dirs"]
GLOBS: list[tuple[str, str]] = list(_WORLD["globs"].items())  # (pattern, what the matched files are)
GH_REPOS: list[tuple[str, str]] = [(full.split("/")[0], full.split("/")[1]) for full in _WORLD["gh_repos"]]
ISSUE_TITLES: list[str] = _WORLD["issue_titles"]
ISSUE_BODIES: list[str] = _WORLD["issue_bodies"]
LABELS: list[str] = _WORLD["labels"]
GH_USERS: list[str] = _WORLD["gh_users"]
SEARCH_QUERIES: list[tuple[str, str]] = list(_WORLD["search_queries"].items())  # (query, what it finds)
COUNTRIES: list[str] = _WORLD["countries"]
ORDER_STATUSES: list[str] = _WORLD["order_statuses"]
PRODUCT_CATEGORIES: list[str] = _WORLD["product_categories"]
PRODUCTS: list[str] = _WORLD["products"]
SQL_TABLES: dict[str, list[tuple[str, str, int]]] = {  # name -> (column, type, pk)
    name: [(c, t, pk) for c, t, pk in columns] for name, columns in _WORLD["sql_tables"].items()
}
ENTITY_TYPES: list[str] = _WORLD["entity_types"]
PROJECTS: list[str] = _WORLD["projects"]
ORGS: list[str] = _WORLD["orgs"]
OBSERVATIONS: list[str] = _WORLD["observations"]
RELATIONS: list[str] = _WORLD["relations"]


def email_of(name: str) -> str:
    return name.lower().replace(" ", ".").replace("í", "i") + "@example.com"
