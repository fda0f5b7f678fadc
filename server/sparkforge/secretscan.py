"""Where the secrets are in a line of text: the detector behind ``privacy.redact``.

``secret_spans(line)`` answers (start, end) spans of the secret parts of one line; what is
around a span (a key's kind prefix such as ``sk_live_``, the name it is assigned to, the
URL it sits in) stays visible to the model. ``key_blocks(text)`` finds PEM/PGP private key
blocks, the one kind of secret that spans lines. Five detectors:

1. **Known key formats** (``KEY_FORMATS``), after the rules of gitleaks and Yelp's
   detect-secrets: OpenAI, Anthropic, Stripe, AWS, GitHub, GitLab, Slack, Google, JWTs,
   Twilio, SendGrid, npm, PyPI and others, plus ``Authorization: Bearer …`` values.
2. **Keyword-keyed assignments** in any common syntax: ``password = "…"`` (Python, JS/TS,
   Go, Java, C#, Ruby, PHP, JSON, TOML), ``export DB_PASSWORD=…`` (shell, ``.env``),
   ``ENV``/``ARG`` (Dockerfile), ``password: …`` (YAML, quoted or not), ``password = …``
   (INI), ``db.password=…`` (``.properties``), ``Password=…;`` (connection strings),
   ``--password …`` (command lines), ``<password>…</password>`` (XML); and passwords given
   to commands (``IDENTIFIED BY '…'``, ``mysql -p…``, ``sshpass -p``, ``curl -u user:…``,
   ``ConvertTo-SecureString``). A value that is code (a call, a name, ``None``,
   ``os.environ["X"]``, ``${VAR}``) or a placeholder (``<your-key>``, ``changeme``, ``xxx``)
   is not a secret.
3. **URLs with credentials**: ``postgres://user:PASSWORD@host``.
4. **Default values of environment lookups**: ``os.environ.get("X", "…")``,
   ``os.getenv``, ``process.env.X || "…"``, ``${X:-…}``, ``ENV.fetch``, ``getOrDefault``.
5. **High-entropy strings in assignment position**, under any name: a random-looking token
   (mixed character classes, many class changes, high Shannon entropy, not made of words)
   that is not a hash, a UUID, a path or base64 of readable text.

Pure functions of one line, so ``privacy`` can cache them per line: from one keystroke to
the next, every line of a prompt but one is the same. Each detector runs only on a line that
holds one of its literal hints, and every pattern is linear in the line's length (a
minified 100 KB line takes about 0.1 s). Measured by ``tests/unit/test_secrets_corpus.py``.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import math
import re
from collections import Counter

Span = tuple[int, int]

# -- 1. known key formats ---------------------------------------------------------------
# (literal hints, pattern): the pattern runs only on a line holding one of its hints; its
# group ``s`` is the secret, what the match has before it is the kind prefix the model sees.
_KEY_TABLE: tuple[tuple[tuple[str, ...], str], ...] = (
    (("sk-",), r"\bsk-(?:proj-|svcacct-|admin-|ant-(?:api\d\d-|admin\d\d-)?|live-|test-)?(?P<s>[A-Za-z0-9_\-]{16,})"),
    (("_live_", "_test_"), r"\b(?:sk|rk)_(?:live|test)_(?P<s>[A-Za-z0-9]{10,})"),
    (("whsec_",), r"\bwhsec_(?P<s>[A-Za-z0-9+/=]{20,})"),
    (("AKIA", "ASIA", "ABIA", "ACCA", "A3T"), r"\b(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])(?P<s>[A-Z0-9]{16})\b"),
    (("ghp_", "gho_", "ghu_", "ghs_", "ghr_"), r"\bgh[pousr]_(?P<s>[A-Za-z0-9]{20,})"),
    (("github_pat_",), r"\bgithub_pat_(?P<s>[A-Za-z0-9_]{20,})"),
    (("glpat-", "gldt-", "glrt-", "glptt-", "glsoat-", "glcbt-", "glft-", "glimt-", "glagent-", "gloas-"),
     r"\bgl(?:pat|dt|rt|ptt|soat|cbt|ft|imt|agent|oas)-(?P<s>[A-Za-z0-9_\-]{20,})"),
    (("GR1348941",), r"\bGR1348941(?P<s>[A-Za-z0-9_\-]{20,})"),
    (("xox",), r"\bxox[abposre]-(?P<s>[A-Za-z0-9\-]{10,})"),
    (("xapp-",), r"\bxapp-(?P<s>\d-[A-Za-z0-9\-]{10,})"),
    (("hooks.slack.com",), r"hooks\.slack\.com/(?:services|workflows|triggers)/(?P<s>[A-Za-z0-9_/+\-]{20,})"),
    (("AIza",), r"\bAIza(?P<s>[0-9A-Za-z_\-]{30,})"),
    (("GOCSPX-",), r"\bGOCSPX-(?P<s>[A-Za-z0-9_\-]{20,})"),
    (("ya29.",), r"\bya29\.(?P<s>[0-9A-Za-z_\-]{20,})"),
    (("eyJ",), r"\beyJ(?P<s>[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,})"),
    (("PRIVATE KEY",), r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----(?P<s>(?:\\[rn]|[A-Za-z0-9+/=:,\- ])+?)"
                       r"(?=(?:\\[rn])*-----END|[\"']|$)"),
    (("SK",), r"\bSK(?P<s>[0-9a-f]{32})\b"),
    (("SG.",), r"\bSG\.(?P<s>[A-Za-z0-9_\-]{16,}\.[A-Za-z0-9_\-]{16,})"),
    (("npm_",), r"\bnpm_(?P<s>[A-Za-z0-9]{36})\b"),
    (("pypi-",), r"\bpypi-(?P<s>AgE[A-Za-z0-9_\-]{50,})"),
    (("key-",), r"\bkey-(?P<s>[0-9a-f]{32})\b"),
    (("-us",), r"\b(?P<s>[0-9a-f]{32})-us\d{1,2}\b"),
    (("hf_",), r"\bhf_(?P<s>[A-Za-z]{30,})\b"),
    (("shp",), r"\bshp(?:at|ca|pa|ss)_(?P<s>[a-fA-F0-9]{32})"),
    (("_v1_",), r"\bdo[por]_v1_(?P<s>[a-f0-9]{64})"),
    (("sq0",), r"\bsq0(?:atp|csp)-(?P<s>[0-9A-Za-z_\-]{22,})"),
    (("dapi",), r"\bdapi(?P<s>[a-f0-9]{32})"),
    (("PMAK-",), r"\bPMAK-(?P<s>[a-f0-9]{24}-[a-f0-9]{34})"),
    (("AGE-SECRET-KEY-",), r"\bAGE-SECRET-KEY-1(?P<s>[0-9A-Z]{58})"),
    (("dp.",), r"\bdp\.(?:pt|st|sa|ct|scim|audit)\.(?P<s>[A-Za-z0-9]{40,})"),
    (("lin_api_",), r"\blin_api_(?P<s>[A-Za-z0-9]{40})"),
    (("glc_", "glsa_"), r"\bgl(?:c|sa)_(?P<s>[A-Za-z0-9+/_]{32,}={0,2})"),
    (("NRAK-",), r"\bNRAK-(?P<s>[A-Z0-9]{27})"),
    (("ATATT3",), r"\bATATT3(?P<s>[A-Za-z0-9_\-=]{50,})"),
    (("Q~",), r"(?<![A-Za-z0-9_~.])[A-Za-z0-9_~.]{3}\dQ~(?P<s>[A-Za-z0-9_~.\-]{31,34})"),
    ((":AA",), r"\b\d{8,10}:(?P<s>AA[A-Za-z0-9_\-]{33})\b"),
    (("AccountKey=", "SharedAccessKey="), r"(?:AccountKey|SharedAccessKey)=(?P<s>[A-Za-z0-9+/=]{20,})"),
)
KEY_FORMATS: tuple[tuple[tuple[str, ...], re.Pattern[str]], ...] = tuple(
    (hints, re.compile(pattern)) for hints, pattern in _KEY_TABLE
)
_PATTERNS_BY_HINT: dict[str, tuple[re.Pattern[str], ...]] = {}
for _hints, _pattern in KEY_FORMATS:
    for _hint in _hints:
        _PATTERNS_BY_HINT[_hint] = _PATTERNS_BY_HINT.get(_hint, ()) + (_pattern,)
_KEY_ORDER = {pattern: i for i, (_, pattern) in enumerate(KEY_FORMATS)}
_ANY_HINT = re.compile("|".join(re.escape(h) for h in sorted(_PATTERNS_BY_HINT, key=len, reverse=True)))
_AUTHORIZATION = re.compile(r"\b(?:[Bb]earer|BEARER|Basic)\s+(?P<s>[A-Za-z0-9\-._~+/]{16,}=*)")
_AWS_SECRET = re.compile(r"(?<![A-Za-z0-9/+])(?P<s>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])")

# -- 2. keyword-keyed assignments -------------------------------------------------------
_KEYWORD_HINT = re.compile(r"(?i)pass|pwd|pw\b|secret|token|key|auth|cred|contrase|bearer")
# name, closing quote/bracket, optional type annotation, separator, value
_ASSIGN = re.compile(
    r"""(?:\$env:)?(?P<name>[A-Za-z_$@][\w$@.\-]*)(?P<close>["'`]?\]?["'`]?)"""
    r"""(?:\s*:\s*[&*]?(?:'\w+\s)?[A-Za-z_][\w.]*(?:\[[\w\[\]., |]*\]|<[\w<>., ]*>)?"""
    r"""(?:\s*\|\s*[A-Za-z_][\w.]*(?:\[[\w\[\]., |]*\])?)*(?=\s*=[^=]))?"""
    r"""\s*(?P<sep>:=|\?=|\+=|<-|=>|={1,3}|!==?|:(?!:))\s*"""
    r"""(?P<prefix>@|[bBrRuU]{1,2}(?=["'])|new\s+String\(\s*|\(\s*)?"""
    r"""(?:(?P<q>"{3}|'{3}|["'`])(?P<qval>[^"'`\n]*?)(?:(?P=q)|$)|(?P<uval>[^\s"'`,;)}\]&]+))"""
)
_SPACE_ASSIGN = re.compile(  # ENV NAME value, --password value, set -x NAME value (fish)
    r"""^[+\- ]?\s*(?:ENV|env|--?[\w\-]+|set(?:\s+-[gxUul]+)*)\s+(?P<name>[\w.\-]+)\s+(?:(?P<q>["'])(?P<qval>[^"'\n]*)(?:(?P=q)|$)|(?P<uval>[^\s"'`,;]+))"""
)
_FLAG_SPACE = re.compile(r"""(?:^|\s)--?(?P<name>[\w\-]*)\s+(?:(?P<q>["'])(?P<qval>[^"'\n]*)(?:(?P=q)|$)|(?P<uval>[^\s"'`;|&]+))""")
_XML = re.compile(r"<(?P<name>[\w:.\-]+)>(?P<val>[^<>\s]{4,})</(?P=name)>")
_CALL = re.compile(r"""(?P<name>[A-Za-z_][\w.]*)\(\s*(?P<q>["'])(?P<val>[^"'\n]+)(?P=q)\s*\)""")
_CALL_VERBS = frozenset(("set", "with", "use", "add", "put"))
_CALL_NAMES = frozenset(("password", "passwd", "secret", "token", "apikey", "accesstoken", "credentials"))
_NAME_VALUE = re.compile(  # <property name="password" value="…"/>, <add key="ApiKey" value="…"/>
    r"""\b(?:name|key)\s*=\s*["'](?P<name>[^"'\n]+)["']\s+value\s*=\s*["'](?P<val>[^"'\n]*)["']"""
)
_KEYED_PAIR = re.compile(  # define('DB_PASSWORD', '…'), config.set("api_key", "…"), variable "x" { default = "…" }
    r"""(?:\w\(\s*|variable\s+)(?P<q1>["'])(?P<name>[\w.\-]+)(?P=q1)\s*(?:,|\{\s*default\s*=)\s*(?P<q>["'])(?P<val>[^"'\n]*)(?P=q)\s*[)}]"""
)
_CONNECTION_STRING = re.compile(r"""(?i)(?:^|[;"'])\s*(?:password|pwd|passwd)=(?P<s>[^;"'\s]+)(?=;|["']|\s*$)""")
# passwords given to commands: (hints, pattern)
_COMMAND_PASSWORD: tuple[tuple[tuple[str, ...], re.Pattern[str]], ...] = tuple(
    (hints, re.compile(pattern)) for hints, pattern in (
        (("IDENTIFIED", "identified", "PASSWORD", "password"),
         r"""(?i)\b(?:identified\s+by|password)\s+'(?P<s>[^'\n]+)'"""),  # SQL
        (("ConvertTo-SecureString",), r"""ConvertTo-SecureString\s+(?:-String\s+)?(?P<q>["'])(?P<s>[^"'\n]+)(?P=q)"""),
        (("sshpass",), r"""\bsshpass\s+-p\s*(?P<q>["']?)(?P<s>[^\s"']+)(?P=q)"""),
        (("mysql",), r"""\bmysql(?:dump|admin)?\b.*\s-p(?P<q>["']?)(?P<s>[^\s"']{4,})(?P=q)"""),
        (("redis-cli",), r"""\bredis-cli\b.*\s-a\s+(?P<q>["']?)(?P<s>[^\s"']+)(?P=q)"""),
        (("curl", "wget", "http "), r"""\b(?:curl|wget|http)\b.*\s(?:-u|--user)\s+(?P<q>["']?)[^:\s"']+:(?P<s>[^\s"']+)(?P=q)"""),
    )
)
_COMMAND_HINT = re.compile("|".join(re.escape(h) for hints, _ in _COMMAND_PASSWORD for h in hints))
_DIRECTIVE = re.compile(  # redis.conf requirepass, .netrc "password …"
    r"""(?:^|\s)(?P<name>requirepass|masterauth|password|passwd)\s+(?P<val>[^\s"'`]+)\s*$"""
)
_LITERAL_LINE = re.compile(
    r"^[+\- ]?\s*(?:(?:export|declare\s+-x|readonly|set|setx)\s+(?=[\w.\-]+=)|ENV\s+|ARG\s+|LABEL\s+|"
    r"(?:.*\s)?(?:-e|--env|--build-arg|--set|-D)\s+)"
)
_YAML_LINE = re.compile(r"""^[+\- ]?\s*(?:-\s+)?["']?[\w.\-]+["']?\s*:\s+[^\s,;]+\s*(?:#.*)?$""")
_UPPER_NAME = re.compile(r"[A-Z][A-Z0-9_]*")

_SEGMENT_SPLIT = re.compile(r"[_\-.$@\s\[\]\"'`:]+|(?<=[a-z0-9])(?=[A-Z])")
_KEY_QUALIFIERS = frozenset(
    "api access secret private auth client signing sign encryption encrypt master app consumer "
    "session service account license deploy admin webhook ssh hmac jwt aes crypt db database "
    "priv subscription cookie storage shared x".split()
)
# a name whose last part says it holds something about the secret, not the secret
_NOT_SECRET_SUFFIXES = frozenset(
    "type types name names field fields header headers env var vars variable path file files "
    "filename dir url uri uris endpoint length len size count min max prefix suffix format fmt "
    "pattern regex re label prompt message msg help hint placeholder policy expiry expires "
    "expiration ttl timeout lifetime age class cls mode scope scopes id ids index idx "
    "algorithm alg char chars sep separator delimiter kind version method provider manager store "
    "handler backend source location ref required enabled disabled enable error errors exception "
    "text title description desc doc str repr cache flag flags option options param params arg "
    "args attr attribute column col table model schema spec validator validation strength reset "
    "changed check checker input widget form box dialog button hash_alg location cmd command "
    "module func function callback factory reader loader generator parser"
    .split()
)
_TYPE_WORDS = frozenset(
    "string str number int integer float bool boolean any unknown object bytes bytearray void "
    "secretstr secretbytes char text none null nil undefined true false yes no on off optional "
    "required list dict array map record uuid date datetime buffer".split()
)
_PLACEHOLDER_WORDS = frozenset(
    "changeme change_me change-me changeit password passwd pass pwd secret secrets token test "
    "testing example sample dummy fake placeholder redacted todo tbd fixme default empty notset "
    "unset n/a na hidden masked private public value foo bar baz qux apikey api_key api-key key "
    "mypassword mysecret mytoken yourpassword yoursecret yourtoken secret_key secretkey "
    "access_token accesstoken auth_token authtoken".split()
)
_PLACEHOLDER = re.compile(
    r"""(?ix)
    ^[x*#.•_\-]{3,}$ | x{4,} | \*{3,} | ^<.*>$ | <[\w\s\-]+> | \{\{.*\}\} | \$\{ | ^\$[\w{(] | ^%\w+%$
    | %\(\w+\)[sd] | %[sd] | \{[\w.]*\} | ^your[_\-\s.] | [_\-]here$ | replace[_\-]?me
    | (?:^|[_\-.:])(?:example|placeholder|sample|dummy|fake|test|changeme)(?:$|[_\-.:])
    | ^\[REDACTED | ^(?:my|some|the|a)[_\-]?(?:password|secret|token|key|api)
    """
)
_CODE_VALUE = re.compile(
    r"""(?x)
    ^(?:os\.|process\.|env\.|ENV\[|System\.|config\.|settings\.|self\.|this\.|cls\.|args\.|opts\.|options\.|params\.)
    | [()\[\]{}<>] | \?\. | \|\| | && | \?\?
    | ^[&*!@]
    """
)
_KEY_CHARS = re.compile(r"[A-Za-z0-9+/=_\-.~:!@#$%^&*]+")
_NUMBER = re.compile(r"[+\-]?\d+(?:\.\d+)?|0[xX][0-9a-fA-F]+")
_VERSION = re.compile(r"[\^~>=<]*v?\d+(?:\.\d+)+(?:[-+.~][\w.+\-~]*)?")
_LOCALE = re.compile(r"[a-z]{2,3}_[A-Z]{2}")
_FULL_LOCALE = re.compile(r"[a-z]{2,3}(?:_[A-Z]{2})?(?:\.[\w\-]+)?(?:@\w+)?")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z_]*")  # a name with no digit
_SNAKE = re.compile(r"_*[a-z][a-z0-9]*(?:_[a-z0-9]+)+")
_DOTTED = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")

# -- 3. URLs with credentials -----------------------------------------------------------
_EXAMPLE_HOST = re.compile(r"example\.(?:com|org|net)\b")  # documentation's own domains
_URL_CREDENTIALS = re.compile(r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s/:@'\"]*:(?P<s>[^\s/@'\"]+)@[^\s/@'\"]")

# -- 4. default values of environment lookups -------------------------------------------
_ENV_HINT = re.compile(r"environ|getenv|getEnv|process\.env|\$\{|ENV|env\(")
_ENV_DEFAULTS = tuple(
    re.compile(p)
    for p in (
        r"""(?:environ\.get|environ\.setdefault|getenv|env(?:\.\w+)?|ENV\.fetch|getOrDefault)\(\s*(?P<q1>["'])(?P<var>[^"'\n]*)(?P=q1)\s*,\s*(?:default\s*=\s*)?(?P<q>["'`])(?P<val>[^"'`\n]*)(?P=q)""",
        r"""(?:getenv|environ\.get|Getenv)\(\s*["'](?P<var>[^"'\n]*)["']\s*\)\s*(?:or|\|\||\?:|\?\?)\s*(?P<q>["'`])(?P<val>[^"'`\n]*)(?P=q)""",
        r"""(?:process\.env|import\.meta\.env)(?:\.(?P<var>\w+)|\[\s*["'](?P<var2>[^"'\n]+)["']\s*\])\s*(?:\|\||\?\?)\s*(?P<q>["'`])(?P<val>[^"'`\n]*)(?P=q)""",
        r"""ENV\[\s*["'](?P<var>[^"'\n]+)["']\s*\]\s*(?:\|\||or)\s*(?P<q>["'])(?P<val>[^"'\n]*)(?P=q)""",
        r"""\$\{(?P<var>\w+):?[-=](?P<q>["']?)(?P<val>[^}"'\s$]{0,200})(?P=q)\}""",
    )
)

# -- 5. high entropy --------------------------------------------------------------------
_HIGH_ENTROPY_HINT = re.compile(r"""[=:,(]\s*["'`]?[A-Za-z0-9+/_\-.~!@$^&*]{16,}""")
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9+/=_\-.~!@$^&*]+")
_NAME_TOKEN = re.compile(r"[A-Z]?[a-z]+|[A-Z]+\d*(?![a-z])|\d+")
_NAME_CHARS = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
_WORDISH_CHARS = re.compile(r"[\w\-.:/]+")
_FILE_NAME = re.compile(r"\.[a-z]{2,4}$")
_TEMPLATE = re.compile(r"\$[A-Za-z{(]|%[sd(]|\{\w*\}")
# names whose values are ids, hashes and versions: random-looking, and public
_ID_NAMES = frozenset(
    "id ids uid uuid guid etag sha sha1 sha256 sha512 hash checksum digest integrity fingerprint "
    "commit rev revision version ref nonce salt iv seed kid signature sig pin pubkey publickey public "
    "name title label type class kind prefix suffix url uri path file filename dir format fmt pattern "
    "regex endpoint header".split()
)
_HEX = re.compile(r"[0-9a-fA-F]+")
_UUID = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")
_DIGEST_PREFIX = re.compile(r"(?i)^(?:sha\d*|sha3-\d+|md5|blake2[bs]?|h1|xxh\d*|crc32)[-:=]")
_DOMAIN_OR_VERSION = re.compile(r"[\w\-]+(?:\.[\w\-]+)+")
_PATH_START = re.compile(r"(?:[/~]|\.{1,2}/|[A-Za-z]:[\\/])")
_PATH_PART = re.compile(r"[a-z0-9_.\-]+|[A-Z]?[a-z]+(?:[_.\-][\w.\-]*)?|\$\w+")
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}|[A-Za-z0-9_\-]+={0,2}")


def secret_spans(line: str) -> tuple[Span, ...]:
    """The secret parts of ``line`` as sorted, disjoint (start, end) spans."""
    found: list[Span] = []
    if _ANY_HINT.search(line):
        patterns = {p for h in _ANY_HINT.findall(line) for p in _PATTERNS_BY_HINT[h]}
        for pattern in sorted(patterns, key=_KEY_ORDER.__getitem__):
            found.extend(m.span("s") for m in pattern.finditer(line) if "EXAMPLE" not in m.group())
    if "earer" in line or "Basic" in line or "BEARER" in line:
        found.extend(m.span("s") for m in _AUTHORIZATION.finditer(line) if _keylike(m.group("s")))
    if ("aws" in line or "AWS" in line or "Aws" in line):
        found.extend(
            m.span("s") for m in _AWS_SECRET.finditer(line)
            if "EXAMPLE" not in m.group("s") and random_looking(m.group("s"))
        )
    if "://" in line and "@" in line:
        found.extend(
            m.span("s") for m in _URL_CREDENTIALS.finditer(line)
            if not _placeholder(m.group("s")) and not _EXAMPLE_HOST.match(line, m.end("s") + 1)
        )
    if _COMMAND_HINT.search(line):
        for hints, pattern in _COMMAND_PASSWORD:
            if any(h in line for h in hints):
                found.extend(
                    m.span("s") for m in pattern.finditer(line)
                    if not _placeholder(m.group("s")) and not _TEMPLATE.search(m.group("s"))
                )
    if _ENV_HINT.search(line):
        found.extend(_env_defaults(line))
    if _KEYWORD_HINT.search(line) or _HIGH_ENTROPY_HINT.search(line):
        found.extend(_assignments(line))
    if not found:
        return ()
    return _disjoint(found)


def _disjoint(spans: list[Span]) -> tuple[Span, ...]:
    """Earlier detectors win: a span overlapping one found before it is left out."""
    kept: list[Span] = []  # sorted, disjoint
    for start, end in spans:
        i = bisect.bisect_left(kept, (start, end))
        if start < end and (i == 0 or kept[i - 1][1] <= start) and (i == len(kept) or end <= kept[i][0]):
            kept.insert(i, (start, end))
    return tuple(kept)


# -- assignments ------------------------------------------------------------------------
def _segments(name: str) -> list[str]:
    return [s.lower() for s in _SEGMENT_SPLIT.split(name) if s]


def _tier(name: str) -> str | None:
    """'password' or 'token' if ``name`` says it holds a secret, else None."""
    parts = _segments(name)
    if not parts or parts[-1] in _NOT_SECRET_SUFFIXES or "public" in parts or "pub" in parts:
        return None
    tier = None
    for i, part in enumerate(parts):
        if i < len(parts) - 2:
            continue  # keep_old_secret_active_for_24_hours: the name is about something else
        last = i == len(parts) - 1
        if (
            part in ("secret", "passwort", "contraseña", "contrasena", "senha", "motdepasse")
            or (last and part in ("pass", "pwd", "pw"))  # DB_PASS, but not pass_zero
            or any(w in part for w in ("password", "passwd", "passphrase", "passcode"))
            or (part.endswith("secret") and len(part) > 6)
            or (part.startswith("secret") and part[6:] in ("key", "keys", "token", "id"))
        ):
            return "password"
        if (
            part in ("token", "apikey", "credential", "credentials", "creds", "auth", "bearer", "accesskey")
            or (part.endswith("token") and part not in ("csrftoken",))
            or (part.endswith("key") and part[:-3] in _KEY_QUALIFIERS)
            or (part in ("key", "keys") and i > 0 and parts[i - 1] in _KEY_QUALIFIERS)
        ):
            tier = "token"
    return tier


def _placeholder(value: str) -> bool:
    low = value.lower()
    return low in _PLACEHOLDER_WORDS or low in _TYPE_WORDS or _PLACEHOLDER.search(value) is not None


def _secret_value(value: str, quoted: bool, tier: str, literal: bool) -> bool:
    """Whether ``value``, assigned to a name of ``tier``, is a secret rather than code or a placeholder."""
    if not value or value != value.strip() or any(c.isspace() for c in value):
        return False  # a message or a sentence, not a key (passphrases with spaces are missed)
    if _placeholder(value):
        return False
    if "\\" in value and re.search(r"\\[A-Za-z]", value) or "(?" in value:
        return False  # a regular expression
    if not quoted:
        if _CODE_VALUE.search(value) or _DOTTED.fullmatch(value) and not literal:
            return False
        if value.startswith(("$", "%", "`")):
            return False
        if not literal and (_IDENTIFIER.fullmatch(value) or _SNAKE.fullmatch(value)):
            return False  # a variable: password = pwd, secret = old_secret_2
    if _UPPER_NAME.fullmatch(value) and "_" in value:
        return False  # the name of an environment variable: key_env = "OPENAI_API_KEY"
    if _NUMBER.fullmatch(value):
        return tier == "password" and len(value) >= 6 and (quoted or literal)
    if _VERSION.fullmatch(value):
        return False
    if tier == "password":
        if re.search(r"[\[\]{}()<>=]", value) and re.search(r"(?i)passw|secret", value):
            return False  # markup about the secret: "[type=password]"
        return len(value) >= 4 and not _compound_name(value) and not value.startswith(("/", "~/", "./"))
    if not _KEY_CHARS.fullmatch(value):
        return False
    return len(value) >= 8 and (_keylike(value) or len(value) >= 16 and _HEX.fullmatch(value) is not None)


def _path_like(value: str) -> bool:
    """A file path or URL path: absolute, or lower-case or word-like parts between slashes."""
    if _PATH_START.match(value):
        return True
    if "/" not in value:
        return False
    return all(_PATH_PART.fullmatch(p) or _words(p) for p in value.split("/") if p)


def _words(value: str) -> bool:
    """Made of words, as identifiers are (refreshTokenClient, OnBehalfOfCredential, Python-urllib):
    their camelCase pieces average 3.5 characters or more; a random key's, under 2."""
    tokens = _NAME_TOKEN.findall(value)
    return bool(tokens) and sum(map(len, tokens)) >= 3.5 * len(tokens)


def _compound_name(value: str) -> bool:
    """An identifier of several words and no digit: client_secret, invalidSecret, client-secret."""
    return (
        _NAME_CHARS.fullmatch(value) is not None
        and not any(c.isdigit() for c in value)
        and ("_" in value or "-" in value or re.search(r"[a-z][A-Z]", value) is not None)
    )


def _keylike(value: str) -> bool:
    """A value under a token or key name that could be the key: not a word, a path, a domain or a version."""
    if len(value) < 8 or _placeholder(value) or _path_like(value) or _benign_dotted(value):
        return False
    if _WORDISH_CHARS.fullmatch(value) and _words(value):
        return False  # an identifier: refreshTokenClientAcquireToken, Get-AzAccessToken
    has_alpha = any(c.isalpha() for c in value)
    if has_alpha and any(c.isdigit() for c in value):
        return True
    return any(c.isupper() for c in value) and any(c.islower() for c in value) and _class_changes(value) >= 0.25


def _credential_like(value: str) -> bool:
    """A value under a neutral name that reads as a password or key: letters of both cases and
    digits, or letters, digits and punctuation, and not a path, a domain, a version or a locale."""
    if len(value) < 8 or _placeholder(value) or _path_like(value) or _benign_dotted(value):
        return False
    lower = any(c.islower() for c in value)
    upper = any(c.isupper() for c in value)
    digit = any(c.isdigit() for c in value)
    special = any(c in "!@$^&*+=~?" for c in value)
    return (lower and upper and digit) or ((lower or upper) and digit and special) or random_looking(value)


def _benign_dotted(value: str) -> bool:
    """A domain, a module path, a version or a locale: dotted parts that are words or numbers."""
    if _VERSION.fullmatch(value):
        return True
    if "." not in value or not _DOMAIN_OR_VERSION.fullmatch(value):
        return False
    return all(
        p.islower() or p.isupper() or p.isdigit() or _LOCALE.fullmatch(p) or re.fullmatch(r"[A-Z][a-z]+", p)
        for p in value.split(".")
    )


def _class_changes(value: str) -> float:
    def cls(c: str) -> int:
        return 0 if c.islower() else 1 if c.isupper() else 2 if c.isdigit() else 3

    changes = sum(1 for a, b in zip(value, value[1:]) if cls(a) != cls(b))
    return changes / max(1, len(value) - 1)


def _entropy(value: str) -> float:
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


def random_looking(value: str) -> bool:
    """A string that reads as a random key: what a secret under a neutral name looks like."""
    n = len(value)
    if n < 16 or n > 256 or not _TOKEN_CHARS.fullmatch(value):
        return False
    if _HEX.fullmatch(value) or _UUID.search(value) or _DIGEST_PREFIX.match(value) or _path_like(value):
        return False  # hashes, ids, git SHAs, lock-file integrity, paths
    if _benign_dotted(value) or _DOTTED.fullmatch(value) or _TEMPLATE.search(value) or _FILE_NAME.search(value):
        return False  # module paths, attributes, templates, file names
    if _FULL_LOCALE.fullmatch(value):
        return False  # sr_RS.UTF-8@latin
    digits = any(c.isdigit() for c in value)
    classes = sum((any(c.islower() for c in value), any(c.isupper() for c in value), digits))
    alnum = "".join(c for c in value if c.isalnum())
    if classes < 2 or _class_changes(alnum) < 0.25 or _entropy(value) < 3.5:
        return False
    if _words(value):
        return False  # an identifier, a class name, a phrase in camelCase
    if _sequential(value):
        return False  # an alphabet: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef…"
    return not _base64_of_data(value)


def _sequential(value: str) -> bool:
    steps = sum(1 for a, b in zip(value, value[1:]) if ord(b) - ord(a) == 1)
    return steps >= (len(value) - 1) * 0.4


def _base64_of_data(value: str) -> bool:
    """Base64 that decodes to text or a known file header is test data, not a key."""
    if len(value) < 16 or not _BASE64.fullmatch(value):
        return False
    try:
        raw = base64.b64decode(value + "=" * (-len(value) % 4), altchars=b"-_" if ("-" in value or "_" in value) else None)
    except (binascii.Error, ValueError):
        return False
    if not raw:
        return False
    if raw[:4] in (b"\x89PNG", b"GIF8", b"%PDF", b"PK\x03\x04") or raw[:2] in (b"\x1f\x8b", b"\xff\xd8", b"BM"):
        return True
    printable = sum(1 for b in raw if 32 <= b < 127 or b in (9, 10, 13))
    return printable >= len(raw) * 0.85


def _assignments(line: str, depth: int = 0) -> list[Span]:
    out: list[Span] = []
    literal_line = _LITERAL_LINE.match(line) is not None
    yaml_line = _YAML_LINE.match(line) is not None
    for m in _ASSIGN.finditer(line):
        name, sep, close = m.group("name"), m.group("sep"), m.group("close")
        quoted = m.group("q") is not None
        value = m.group("qval") if quoted else m.group("uval")
        span = m.span("qval") if quoted else m.span("uval")
        if value is None or (m.group("prefix") or "").startswith(("(", "new")) and not quoted:
            continue
        if sep in ("==", "===", "!=", "!==") and not quoted:
            continue
        if sep == ":" and not close and line[m.start("sep") - 1].isspace():
            continue  # prose or markup ("pass :data:`x`"), not a key: value
        if not quoted:
            if depth < 2 and ("=" in value.rstrip("=") or ":" in value):
                # --from-literal=password=…, db:5432/shop?user=app&password=…: look inside
                start = m.start("uval")
                out.extend((a + start, b + start) for a, b in _assignments(value, depth + 1))
            if sep == ":" and (_IDENTIFIER.fullmatch(value) or _DOTTED.fullmatch(value)):
                continue  # a type or a name (password: str, auth: AuthType, cookies: Jar)
            after = line[m.end("uval"):].lstrip()
            before = line[:m.start("name")].rstrip()
            tight = line[m.start("uval") - 1:m.start("uval")] == "="  # NAME=value, no spaces
            literal = (
                literal_line
                or (sep == ":" and yaml_line)
                or (sep in ("?=", ":=") and _UPPER_NAME.fullmatch(name) is not None)
                or (sep == "=" and tight and not _DOTTED.fullmatch(value) and (
                    (after.startswith(";") or before.endswith((";", '"', "'"))) and not before.endswith(("const", "let", "var"))
                    or _UPPER_NAME.fullmatch(name) is not None or "." in name or "-" in name))
            )
        else:
            literal = True
        if line[max(0, m.start("name") - 2):m.start("name")] == "::":
            continue  # a qualified type name (AWS::IAM::AccessKey, Foo::Bar), not a variable
        tier = _tier(name + close)
        if tier is not None:
            if _secret_value(value, quoted, tier, literal):
                out.append(span)
        elif (quoted or literal and any(c.isdigit() for c in value)) and not _id_name(name) and random_looking(value):
            out.append(span)
    for pattern in (_SPACE_ASSIGN, _FLAG_SPACE):
        for m in pattern.finditer(line):
            tier = _tier(m.group("name"))
            if tier is None:
                continue
            quoted = m.group("q") is not None
            value = m.group("qval") if quoted else m.group("uval")
            if value and not _IDENTIFIER.fullmatch(value) and _secret_value(value, quoted, tier, True):
                out.append(m.span("qval") if quoted else m.span("uval"))
    if "</" in line:
        for m in _XML.finditer(line):
            if (tier := _tier(m.group("name"))) is not None and _secret_value(m.group("val"), True, tier, True):
                out.append(m.span("val"))
    if "(" in line:
        for m in _CALL.finditer(line):  # setPassword("…"), .apiKey("…"), with_token("…")
            name = m.group("name").rsplit(".", 1)[-1]
            parts = _segments(name)
            if not parts or parts[0] not in _CALL_VERBS and (len(parts) > 1 or parts[0] not in _CALL_NAMES):
                continue  # get_secret("prod/app"), splitpasswd(…): the argument is not the secret
            if (tier := _tier(name)) is not None and _secret_value(m.group("val"), True, tier, True):
                out.append(m.span("val"))
    if "value" in line:
        for m in _NAME_VALUE.finditer(line):
            if (tier := _tier(m.group("name"))) is not None and _secret_value(m.group("val"), True, tier, True):
                out.append(m.span("val"))
    if "," in line or "default" in line:
        for m in _KEYED_PAIR.finditer(line):
            if (tier := _tier(m.group("name"))) is not None and _secret_value(m.group("val"), True, tier, True):
                out.append(m.span("val"))
    if ";" in line:
        for m in _CONNECTION_STRING.finditer(line):
            if _secret_value(m.group("s"), True, "password", True):
                out.append(m.span("s"))
    for m in _DIRECTIVE.finditer(line):
        value = m.group("val")
        if not _placeholder(value) and (_credential_like(value) or m.group("name") in ("requirepass", "masterauth")):
            out.append(m.span("val"))
    return out


def _id_name(name: str) -> bool:
    parts = _segments(name)
    return bool(parts) and (
        parts[-1] in _ID_NAMES or parts[-1].endswith("id") or parts[-1].startswith("pub")
    )


def _env_defaults(line: str) -> list[Span]:
    out: list[Span] = []
    for pattern in _ENV_DEFAULTS:
        for m in pattern.finditer(line):
            value = m.group("val")
            if not value or _placeholder(value) or any(c.isspace() for c in value):
                continue
            var = m.group("var") or (m.groupdict().get("var2") or "")
            tier = _tier(var)
            if (tier is not None and _secret_value(value, True, tier, True)) or _credential_like(value):
                out.append(m.span("val"))
    return out


# -- private key blocks -----------------------------------------------------------------
_BEGIN = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----[ \t]*\r?$", re.M)
_BODY_LINE = re.compile(r"[ \t]*(?:[A-Za-z0-9+/=]+|[\w\-]+:.*|)[ \t]*\r?")


def key_blocks(text: str) -> list[Span]:
    """The bodies of multi-line private key blocks in ``text``: the lines after a BEGIN line
    that read as a key (base64, ``Proc-Type:`` headers, blank), up to its END line or the
    first line that is not part of a key (a block cut off by the prompt's window)."""
    if "PRIVATE KEY" not in text:
        return []
    spans: list[Span] = []
    for m in _BEGIN.finditer(text):
        start = pos = m.end() + 1  # the line after BEGIN
        end = start
        while pos <= len(text):
            nl = text.find("\n", pos)
            line_end = len(text) if nl < 0 else nl
            line = text[pos:line_end]
            if line.lstrip().startswith("-----END") or not _BODY_LINE.fullmatch(line):
                break
            end = line_end
            if nl < 0:
                break
            pos = nl + 1
        if text[start:end].strip():
            spans.append((start, end))
    return spans
