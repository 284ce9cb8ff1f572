"""The fictional world both the generator and the live sandbox use: cities, repositories, people, tables."""

from __future__ import annotations

CITIES = [
    ("Berlin", "Europe/Berlin"), ("Paris", "Europe/Paris"), ("London", "Europe/London"),
    ("Madrid", "Europe/Madrid"), ("Rome", "Europe/Rome"), ("Amsterdam", "Europe/Amsterdam"),
    ("Stockholm", "Europe/Stockholm"), ("Warsaw", "Europe/Warsaw"), ("Athens", "Europe/Athens"),
    ("Istanbul", "Europe/Istanbul"), ("Moscow", "Europe/Moscow"), ("Dubai", "Asia/Dubai"),
    ("Mumbai", "Asia/Kolkata"), ("Kathmandu", "Asia/Kathmandu"), ("Singapore", "Asia/Singapore"),
    ("Hong Kong", "Asia/Hong_Kong"), ("Shanghai", "Asia/Shanghai"), ("Tokyo", "Asia/Tokyo"),
    ("Seoul", "Asia/Seoul"), ("Sydney", "Australia/Sydney"), ("Auckland", "Pacific/Auckland"),
    ("New York", "America/New_York"), ("Chicago", "America/Chicago"), ("Denver", "America/Denver"),
    ("Los Angeles", "America/Los_Angeles"), ("Toronto", "America/Toronto"),
    ("Mexico City", "America/Mexico_City"), ("São Paulo", "America/Sao_Paulo"),
    ("Buenos Aires", "America/Argentina/Buenos_Aires"), ("Johannesburg", "Africa/Johannesburg"),
    ("Cairo", "Africa/Cairo"), ("Lagos", "Africa/Lagos"), ("Nairobi", "Africa/Nairobi"),
    ("Honolulu", "Pacific/Honolulu"), ("Reykjavik", "Atlantic/Reykjavik"),
]  # fmt: skip

TZ_ABBREVIATIONS = [
    ("PST", "America/Los_Angeles"), ("IST", "Asia/Kolkata"), ("JST", "Asia/Tokyo"), ("BST", "Europe/London"),
    ("AEST", "Australia/Sydney"), ("CEST", "Europe/Berlin"), ("EDT", "America/New_York"),
    ("KST", "Asia/Seoul"), ("SGT", "Asia/Singapore"), ("NZST", "Pacific/Auckland"),
]  # fmt: skip  # not IANA keys: mcp-server-time rejects them

REPOS = [
    "/home/dev/projects/webapp", "/home/dev/code/payments-service", "/srv/git/inventory-api",
    "/Users/sam/work/mobile-app", "/home/alex/src/data-pipeline", "/workspace/ml-experiments",
    "/opt/repos/auth-gateway", "/home/dev/projects/docs-site", "/Users/kim/projects/cli-tool",
    "/home/ci/builds/frontend", "/home/maria/code/recommender", "/workspace/mcp-bridge",
]  # fmt: skip

CODE_FILES = [
    "src/app.py", "src/utils/helpers.py", "README.md", "tests/test_api.py", "package.json",
    "src/components/Header.tsx", "Dockerfile", "config/settings.yaml", "docs/index.md", "Makefile",
    "src/main.rs", "cmd/server/main.go", "pyproject.toml", ".github/workflows/ci.yml", "src/db/models.py",
    "src/routes/orders.ts", "scripts/deploy.sh", "CHANGELOG.md", "src/lib/cache.go", "tests/conftest.py",
]  # fmt: skip

BRANCHES = [
    "feature/login-form", "feature/dark-mode", "fix/null-pointer", "release/2.4", "chore/bump-deps",
    "feature/search-api", "hotfix/payment-timeout", "refactor/db-layer", "feature/csv-export",
    "fix/flaky-tests", "docs/api-reference", "feature/oauth2",
]  # fmt: skip

BASE_BRANCHES = ["main", "develop", "master"]

COMMIT_MESSAGES = [
    "Fix null check in user loader", "Add pagination to orders endpoint", "Bump requests to 2.32.3",
    "Refactor database session handling", "Update README with setup steps", "Add unit tests for parser",
    "Remove deprecated config flags", "Improve error messages for invalid input", "Fix typo in docs",
    "Add dark mode toggle", "Handle timeouts in payment client", "Cache product lookups",
    "Migrate CI to Python 3.12", "Validate email addresses on signup", "Speed up CSV export",
]  # fmt: skip

PEOPLE = [
    "Ada Lovelace", "Grace Hopper", "Alan Turing", "Margaret Hamilton", "Ken Thompson", "Barbara Liskov",
    "Dennis Ritchie", "Katherine Johnson", "Guido van Rossum", "Frances Allen", "Edsger Dijkstra",
    "Radia Perlman", "Donald Knuth", "Hedy Lamarr", "Anita Borg", "John McCarthy", "Sophie Wilson",
    "Joan Clarke", "Lin Wei", "Priya Raman", "Mateo García", "Amara Okafor", "Yuki Tanaka", "Lars Eriksson",
]  # fmt: skip

FS_ROOTS = [
    "/workspace/app",
    "/home/dev/projects/site",
    "/Users/sam/Documents/notes",
    "/srv/data",
    "/projects/api",
]

FS_FILES = CODE_FILES + [
    "notes/meeting-2024-05-02.md", "data/sales.csv", "logs/app.log", "TODO.md", "docs/architecture.md",
    ".env.example", "src/config.json", "notes/ideas.txt",
]  # fmt: skip

FS_DIRS = [
    "src",
    "tests",
    "docs",
    "config",
    "notes",
    "data",
    "scripts",
    "logs",
    "src/components",
    "src/utils",
]

GLOBS = [
    ("*.py", "Python files"), ("**/*.ts", "TypeScript files"), ("**/*.md", "Markdown files"),
    ("**/test_*.py", "test files"), ("**/Dockerfile", "Dockerfiles"), ("**/*.yaml", "YAML files"),
    ("**/*.json", "JSON files"), ("**/*.csv", "CSV files"), ("**/*.log", "log files"),
]  # fmt: skip

GH_REPOS = [
    ("octocat", "hello-world"), ("acme-corp", "billing-service"), ("pallets", "flask"), ("psf", "requests"),
    ("acme-corp", "web-portal"), ("rust-lang", "rustlings"), ("my-org", "infra-tools"), ("janedoe", "dotfiles"),
    ("datalab", "etl-jobs"), ("openhealth", "patient-api"), ("tinyco", "mobile-app"), ("fastapi", "fastapi"),
]  # fmt: skip

ISSUE_TITLES = [
    "Login button unresponsive on Safari", "Crash when uploading files larger than 2 GB",
    "Add dark mode support", "Document the REST API rate limits", "Flaky test: test_concurrent_writes",
    "Memory leak in websocket handler", "Support Python 3.13", "Typo in installation guide",
    "CSV export drops unicode characters", "Timeouts when calling the payments API",
    "Pagination returns duplicate rows", "Add retry logic to the webhook sender",
]  # fmt: skip

ISSUE_BODIES = [
    "Steps to reproduce:\n1. Open the app\n2. Click the button\n\nExpected: it works. Actual: nothing happens.",
    "Seen in production since the last deploy. Logs attached in the incident channel.",
    "This would help users who work at night. See the design mock in Figma.",
    "Users keep asking about this in the forum; a short section in the docs would help.",
    "Fails roughly 1 in 20 CI runs on Linux runners.",
]  # fmt: skip

LABELS = ["bug", "enhancement", "documentation", "good first issue", "help wanted", "performance", "tests"]

GH_USERS = ["octocat", "janedoe", "devbot", "mchen", "rpatel", "lgarcia", "tkim", "asmith"]

SEARCH_QUERIES = [
    ("fastapi template language:python", "FastAPI project templates"),
    ("mcp server sqlite", "MCP servers for SQLite"), ("topic:cli stars:>1000 language:rust", "popular Rust CLI tools"),
    ("react state management", "React state-management libraries"),
    ("kubernetes operator language:go", "Kubernetes operators written in Go"),
    ("markdown parser language:typescript", "TypeScript Markdown parsers"),
    ("llm fine-tuning lora", "LoRA fine-tuning projects"),
]  # fmt: skip

COUNTRIES = ["Germany", "France", "Japan", "Brazil", "Canada", "India", "Kenya", "Spain", "Mexico", "Sweden"]

ORDER_STATUSES = ["pending", "shipped", "delivered", "cancelled", "refunded"]

PRODUCT_CATEGORIES = ["books", "electronics", "garden", "toys", "kitchen", "sports"]

PRODUCTS = [
    "USB-C cable", "Mechanical keyboard", "Noise-cancelling headphones", "Garden hose", "Chef's knife",
    "Yoga mat", "Board game", "E-reader", "Desk lamp", "Water bottle", "Running shoes", "Coffee grinder",
]  # fmt: skip

SQL_TABLES: dict[str, list[tuple[str, str, int]]] = {  # name -> (column, type, pk)
    "users": [("id", "INTEGER", 1), ("name", "TEXT", 0), ("email", "TEXT", 0), ("country", "TEXT", 0),
              ("created_at", "TEXT", 0)],
    "orders": [("id", "INTEGER", 1), ("user_id", "INTEGER", 0), ("total", "REAL", 0), ("status", "TEXT", 0),
               ("created_at", "TEXT", 0)],
    "products": [("id", "INTEGER", 1), ("name", "TEXT", 0), ("category", "TEXT", 0), ("price", "REAL", 0),
                 ("stock", "INTEGER", 0)],
    "order_items": [("id", "INTEGER", 1), ("order_id", "INTEGER", 0), ("product_id", "INTEGER", 0),
                    ("quantity", "INTEGER", 0)],
    "events": [("id", "INTEGER", 1), ("user_id", "INTEGER", 0), ("kind", "TEXT", 0), ("ts", "TEXT", 0)],
}  # fmt: skip

ENTITY_TYPES = ["person", "project", "organization", "service"]

PROJECTS = [
    "billing-service",
    "Project Apollo",
    "search-revamp",
    "mobile-app",
    "data-warehouse",
    "auth-gateway",
]

ORGS = ["Acme Corp", "Globex", "Initech", "Umbrella Labs", "Stark Industries"]

OBSERVATIONS = [
    "Prefers async communication", "Speaks German and English", "Owns the payments integration",
    "Joined the team in March 2023", "Works from Lisbon", "On call this week", "Leads the API guild",
    "Prefers Python over Go", "Is the release manager for 2.4", "Reviews all database migrations",
    "Uses PostgreSQL 16 in production", "Deploys every Tuesday", "Has a 99.9% uptime SLO",
]  # fmt: skip

RELATIONS = ["works_at", "maintains", "reports_to", "depends_on", "collaborates_with", "owns"]


def email_of(name: str) -> str:
    return name.lower().replace(" ", ".").replace("í", "i") + "@example.com"
