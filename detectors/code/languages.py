"""Per-language evidence: weighted line patterns, file extensions and file-level markers.

Every pattern is tried against one line (leading/trailing whitespace kept, so indentation
anchors work). Weights: 3 ~ almost unique to the language (`#include <`, `fn main(`,
`<?php`), 2 ~ strong, 1 ~ supporting, 0.5 ~ shared with other languages. A line's score
for a language is the sum of its matching patterns, capped at LINE_CAP; a line with a score
of at least STRONG_LINE for some language is a code line whatever else it looks like.

Languages are keyed by short ids; NAMES gives the human name.
"""

from __future__ import annotations

import re

LANGUAGES = ("python", "c_cpp", "java", "javascript", "go", "rust", "shell", "sql", "php",
             "csharp")

NAMES = {
    "python": "Python", "c_cpp": "C/C++", "java": "Java", "javascript": "JavaScript/TypeScript",
    "go": "Go", "rust": "Rust", "shell": "Shell", "sql": "SQL", "php": "PHP", "csharp": "C#",
}

LINE_CAP = 4.0
STRONG_LINE = 1.5

EXTENSIONS = {
    "python": ("py", "pyw", "pyi", "pyx"),
    "c_cpp": ("c", "h", "cc", "cpp", "cxx", "c++", "hh", "hpp", "hxx", "h++", "ino", "cu"),
    "java": ("java",),
    "javascript": ("js", "mjs", "cjs", "jsx", "ts", "tsx", "mts", "cts"),
    "go": ("go",),
    "rust": ("rs",),
    "shell": ("sh", "bash", "zsh", "ksh", "ash", "dash", "command"),
    "sql": ("sql", "ddl", "dml", "pgsql", "psql", "plsql", "mysql"),
    "php": ("php", "phtml", "php3", "php4", "php5", "php7", "phps", "inc"),
    "csharp": ("cs", "csx"),
}
EXT_TO_LANG = {ext: lang for lang, exts in EXTENSIONS.items() for ext in exts}

# Shebang interpreter -> language.
SHEBANGS = (
    (re.compile(r"^#!\s*\S*/(?:env\s+(?:-\S+\s+)*)?(?:ba|z|k|da|a|mk|c|tc)?sh\b"), "shell"),
    (re.compile(r"^#!\s*\S*/(?:env\s+(?:-\S+\s+)*)?python[\d.]*\b"), "python"),
    (re.compile(r"^#!\s*\S*/(?:env\s+(?:-\S+\s+)*)?(?:node|deno|bun|ts-node)\b"), "javascript"),
    (re.compile(r"^#!\s*\S*/(?:env\s+(?:-\S+\s+)*)?php\b"), "php"),
)

_I = re.IGNORECASE

# (pattern, weight[, flags])
_RAW: dict[str, list[tuple]] = {
    "python": [
        (r"^\s*(?:async\s+)?def\s+\w+\s*\(.*\)\s*(?:->\s*[^:]+)?:\s*(?:#.*)?$", 3),
        (r"^\s*(?:async\s+)?def\s+\w+\s*\((?:self|cls)?\b", 2),
        (r"^\s*class\s+\w+\s*(?:\([^)]*\))?\s*:\s*(?:#.*)?$", 3),
        (r"^\s*from\s+\.*[\w.]*\s+import\s+(?:[\w*(]|$)", 3),
        (r"^\s*import\s+[\w.]+(?:\s+as\s+\w+)?(?:\s*,\s*[\w.]+(?:\s+as\s+\w+)?)*\s*(?:#.*)?$", 2),
        (r"^\s*(?:else|try|finally)\s*:\s*(?:#.*)?$", 3),
        (r"^\s*except\b[^:]*:\s*(?:#.*)?$", 3),
        (r"^\s*(?:el)?if\s+.+:\s*(?:#.*)?$", 2),
        (r"^\s*(?:for\s+[\w, ()\[\]]+\s+in\s+.+|while\s+.+|(?:async\s+)?with\s+.+)\s*:\s*(?:#.*)?$", 2),
        (r"\b(?:self|cls)\.\w+", 1),
        (r"^\s*@[\w.]+(?:\(.*\))?\s*$", 0.5),
        (r"\b(?:None|True|False)\b", 1),
        (r"^\s*(?:raise(?:\s+\w|\s*$)|yield\b|pass\s*$|nonlocal\s|global\s+\w)", 2),
        (r"^\s*[rbuf]?(?:\"\"\"|''')", 1),
        (r"\b(?:print|len|range|isinstance|super|enumerate|zip|sorted|getattr|hasattr|dict|list|str|int)\(", 0.5),
        (r"^\s*if\s+__name__\s*==\s*['\"]__main__['\"]\s*:", 3),
        (r"\blambda\b[^:\n]*:", 1),
        (r"\bf(?:\"[^\"]*\{|'[^']*\{)", 1),
        (r"\b(?:elif|is\s+not|not\s+in|and\s+not)\b", 1),
        (r"\[[^\]]+\bfor\s+\w+\s+in\s+[^\]]+\]", 1.5),
        (r"^\s*\w+\s*:\s*(?:int|str|float|bool|bytes|list|dict|tuple|set|Optional\[|List\[|Dict\[)[\w\[\], |]*(?:\s*=.*)?$", 1),
        (r"^\s*return\s+.*[^;{]\s*$", 0.3),
    ],
    "c_cpp": [
        (r"^\s*#\s*include\s*[<\"]", 3),
        (r"^\s*#\s*(?:define|ifn?def|endif|pragma|undef|error)\b", 3),
        (r"^\s*#\s*(?:if|elif|else)\b", 2),
        (r"\bstd::\w+", 3),
        (r"^\s*template\s*<", 3),
        (r"\b(?:printf|fprintf|sprintf|snprintf|malloc|calloc|realloc|free|memcpy|memset|memmove|strlen|strcmp|strncmp|strcpy|strncpy|fopen|fclose|perror)\s*\(", 2),
        (r"^\s*typedef\b", 2.5),
        (r"^\s*(?:static\s+|extern\s+|inline\s+|const\s+|virtual\s+|constexpr\s+)*(?:unsigned\s+|signed\s+)?(?:void|int|char|long|short|float|double|size_t|ssize_t|u?int\d+_t|bool|struct\s+\w+|auto)\s*[*&]*\s*[\w:~]+\s*\([^;]*\)\s*(?:const\s*)?\{?\s*$", 2),
        (r"\bsizeof\s*\(", 2),
        (r"\bNULL\b", 1),
        (r"->\w", 1),
        (r"\b(?:unsigned|size_t|ssize_t|uint8_t|uint16_t|uint32_t|uint64_t|int8_t|int16_t|int32_t|int64_t)\b", 1.5),
        (r"const\s+char\s*\*", 1.5),
        (r"\bchar\s*\*", 1.5),
        (r"\b(?:nullptr|static_cast|reinterpret_cast|const_cast|dynamic_cast)\b", 2),
        (r"\b(?:cout|cerr|endl)\b", 2),
        (r"^\s*namespace\s+\w+\s*\{", 1.5),
        (r"\bextern\s+\"C\"", 3),
        (r"^\s*(?:public|private|protected)\s*:\s*$", 3),
        (r"\bvirtual\b", 1),
        (r"^\s*(?:struct|enum|union)\s+\w+\s*\{", 1),
        (r"^\s*(?:static\s+)?(?:const\s+)?(?:unsigned\s+)?(?:int|char|long|short|double|float)\s+\**\w+(?:\[\w*\])?\s*(?:=[^=].*)?;\s*$", 1),
        (r"\b(?:goto\s+\w+;|case\s+\w+:|break;)", 0.5),
        (r"\b(?:int|void)\s+main\s*\(", 2),
    ],
    "java": [
        (r"^\s*package\s+[\w.]+\s*;\s*$", 3),
        (r"^\s*import\s+(?:static\s+)?[\w.]+(?:\.\*)?\s*;\s*$", 2.5),
        (r"\bSystem\.(?:out|err)\.print", 3),
        (r"\bpublic\s+static\s+void\s+main\s*\(\s*String", 3),
        (r"^\s*@(?:Override|Test|Autowired|Deprecated|SuppressWarnings|FunctionalInterface|Inject|Entity|Bean|Component|Service|Repository|RestController|Controller|GetMapping|PostMapping|RequestMapping|Transactional|Column|Id|Before|After|BeforeEach|AfterEach|Nullable|NonNull|Value|Configuration)\b", 2.5),
        (r"^\s*(?:public|private|protected)\s+(?:static\s+)?(?:final\s+)?(?:abstract\s+)?(?:synchronized\s+)?[\w<>\[\], ?]+\s+[a-z]\w*\s*\([^)]*\)?\s*(?:throws\s+[\w., ]+)?\s*\{?\s*$", 1.5),
        (r"\b(?:class|interface|enum)\s+\w+(?:<[^>]*>)?\s+(?:extends|implements)\s+", 2),
        (r"\bthrows\s+\w+", 2.5),
        (r"\bString\[\]", 2),
        (r"\bboolean\b", 1.5),
        (r"\bString\s+\w+\s*[=;,)]", 1),
        (r"\b(?:ArrayList|HashMap|HashSet|LinkedList|Optional|Collectors|StringBuilder|Integer|Objects)\b", 1),
        (r"\bfinal\s+\w+", 1),
        (r"\bcatch\s*\(\s*(?:final\s+)?[\w.|\s]+(?:Exception|Error|Throwable)\s+\w+\s*\)", 1.5),
        (r"\b(?:private|protected|public)\s+(?:static\s+)?final\b", 1.5),
        (r"\.(?:equals|hashCode|toString|getClass|stream|size)\(\)", 1),
        (r"\bnew\s+\w+(?:<[\w<>, ?]*>)?\s*\(", 0.5),
        (r"\bthis\.\w+\s*=", 0.5),
        (r"\b(?:Integer|Long|Character|Math|Arrays|Collections|Objects|Thread|Class|System)\.[a-z]\w*\(", 1.5),
        (r"<\?(?:\s+(?:extends|super)\b[^>]*)?>", 3),
        (r"\.[a-z]+[A-Z]\w*\(", 0.7),
        (r"\bnew\s+(?:byte|int|long|char|short|boolean|double|float|String|Object)\[", 2),
        (r"^\s*assert\s+[^(]", 1.5),
        (r"\b(?:continue|break)\s+\w+\s*;", 1.5),
        (r"\bnull\b", 0.5),
        (r"^\s*(?:final\s+)?(?:int|long|char|byte|short|double|float|boolean|String|var|[A-Z]\w*(?:<[^>]*>)?(?:\[\])*)\s+[a-z]\w*\s*(?:=[^=]|;)", 0.7),
    ],
    "csharp": [
        (r"^\s*using\s+(?:static\s+)?System(?:\.\w+)*\s*;", 3),
        (r"^\s*using\s+[\w.]+\s*;\s*$", 2),
        (r"^\s*using\s+\w+\s*=\s*[\w.]+\s*;", 2),
        (r"^\s*namespace\s+[\w.]+\s*[;{]?\s*$", 1.5),
        (r"\bConsole\.(?:Write|Read)", 3),
        (r"\{\s*(?:get|set|init)\s*;", 3),
        (r"\b(?:async\s+Task|Task<|IEnumerable<|IList<|ICollection<|IDictionary<|Dictionary<|List<|IActionResult|ILogger<)", 1.5),
        (r"^\s*(?:public|private|protected|internal)\s+(?:static\s+|readonly\s+|override\s+|virtual\s+|async\s+|sealed\s+|abstract\s+|partial\s+)*[\w<>\[\], ?]+\s+[A-Z]\w*\s*\(", 1.5),
        (r"\binternal\s+(?:(?:static|sealed|abstract|readonly|partial|override|virtual)\s+)*(?:class|interface|struct|enum|record|[\w<>\[\]]+\s+\w+\s*[({;=])", 2),
        (r"\b(?:string|bool|var|decimal)\s+\w+\s*(?:=|;|,|\))", 1),
        (r"\bforeach\s*\(\s*(?:var|[\w<>]+)\s+\w+\s+in\s+", 2.5),
        (r"^\s*\[[A-Z]\w*(?:\(.*\))?\]\s*$", 1),
        (r"\boverride\b", 1),
        (r"\breadonly\b", 1),
        (r"\bnameof\s*\(", 2),
        (r"\.(?:Where|Select|FirstOrDefault|ToList|ToArray|Any|OrderBy|GroupBy|SingleOrDefault|Count)\(", 1.5),
        (r"\$@?\"[^\"]*\{", 1.5),
        (r"\b(?:string|object)\.(?:IsNullOrEmpty|IsNullOrWhiteSpace|Format|Join|Empty)\b", 2.5),
        (r"\bpublic\s+(?:partial\s+|static\s+|sealed\s+|abstract\s+)*class\s+\w+(?:<[^>]*>)?\s*:\s*\w+", 2),
        (r"\b(?:ArgumentNullException|InvalidOperationException|CancellationToken|EventArgs)\b", 2),
        (r"\.[A-Z][a-z]\w*\(", 0.7),
        (r"\bnull\b", 0.5),
        (r"^\s*(?:var|string|int|bool|[A-Z]\w*(?:<[^>]*>)?(?:\[\])?)\s+[a-z]\w*\s*(?:=[^=]|;)", 0.5),
    ],
    "go": [
        (r"^package\s+\w+\s*$", 3),
        (r"^import\s+\(\s*$", 2.5),
        (r"^import\s+(?:\w+\s+)?\"[\w./-]+\"\s*$", 2.5),
        (r"^func\s+(?:\([^)]*\)\s*)?\w+\s*(?:\[[^\]]*\])?\(", 3),
        (r"\bfunc\s*\(", 1.5),
        (r":=", 2),
        (r"\bfmt\.\w+\(", 3),
        (r"\berr\s*!=\s*nil\b", 3),
        (r"^\s*defer\s+", 3),
        (r"\bgo\s+func\b", 3),
        (r"\bchan\b", 1.5),
        (r"<-\s*\w", 1.5),
        (r"^type\s+\w+\s+(?:struct|interface)\s*\{", 3),
        (r"\binterface\{\}", 2),
        (r"\bmake\(\s*(?:\[\]|map\[|chan\b)", 2),
        (r"\brange\s+\w", 2),
        (r"\bnil\b", 1),
        (r"^\s*return\s+.*,\s*(?:err|nil)\s*$", 2),
        (r"\[\](?:byte|string|int)\b", 1.5),
        (r"\bmap\[\w+\]", 1.5),
        (r"\b(?:int64|uint64|float64|uint32|int32|rune)\b", 1.5),
        (r"^\s*\w+\s+(?:string|int|bool|\[\]\w+|\*?\w+\.\w+|float64|int64)\s+`[a-z]+:\"", 2.5),
    ],
    "rust": [
        (r"^\s*(?:pub(?:\([\w: ]+\))?\s+)?(?:const\s+)?(?:async\s+)?(?:unsafe\s+)?(?:extern\s+\"C\"\s+)?fn\s+\w+", 3),
        (r"\blet\s+mut\b", 3),
        (r"^\s*let\s+(?:\w+|\([\w, ]+\))(?:\s*:\s*[^=]+)?\s*=.*;\s*$", 1),
        (r"^\s*impl\b(?:<[^>]*>)?\s+[\w<>:, &']+(?:\s+for\s+[\w<>:&']+)?\s*\{", 3),
        (r"^\s*(?:pub\s+)?use\s+[\w:]+(?:::\{[^}]*\}|::\*)?\s*;", 2.5),
        (r"\b(?:println|print|format|vec|panic|assert_eq|assert_ne|assert|write|writeln|eprintln|unreachable|todo|matches|macro_rules)!\s*[(\[{]", 3),
        (r"^\s*#!?\[(?:derive|cfg|test|allow|inline|must_use|deny|warn|repr|tokio|serde)", 3),
        (r"\b(?:Vec|Box|Rc|Arc|Option|Result|RefCell|HashMap)<", 1.5),
        (r"\b(?:Some|Ok|Err)\(", 1.5),
        (r"&mut\b", 2.5),
        (r"&(?:mut\s+)?self\b", 2.5),
        (r"^\s*match\s+[^{]+\{\s*$", 2),
        (r"\.(?:unwrap|expect|clone|as_ref|iter|into_iter|collect|to_string|unwrap_or)\(", 1),
        (r"\?;\s*$", 1.5),
        (r"^\s*(?:pub\s+)?mod\s+\w+\s*[;{]", 2),
        (r"\bpub\s+(?:struct|enum|trait|mod|const|type|static|fn|use)\b", 3),
        (r"^\s*(?:pub\s+)?trait\s+\w+", 2),
        (r"&'\w+\b|<'\w+>", 2.5),
        (r"->\s*(?:Self|Result<|Option<|bool|u\d+|i\d+|usize|isize|f64|String|&|impl\s)", 2),
        (r"\b(?:u8|u16|u32|u64|usize|i32|i64|isize|f32|f64)\b", 1),
        (r"\bSelf\b", 1),
        (r"=>\s*[^;]*,\s*$", 0.5),
        (r"::[a-z_]\w*(?:::\w+)*\(", 1.5),
        (r"^\s*(?:\}\s*else\s+)?(?:if|while|for)\s+[^(\s].*\{\s*$", 1),
        (r"\|[\w&*, ()]*\|\s*(?:\{|[\w(&*])", 1.5),
        (r"\bunsafe\s*\{", 2.5),
        (r"#!?\[[\w:]+", 2.5),
        (r"^\s*where\s*$", 1.5),
        (r"\$crate::", 3),
        (r"\bmacro_rules!", 3),
        (r"!\(", 1),
    ],
    "javascript": [
        (r"^\s*(?:export\s+)?(?:const|var)\s+(?:[\w$]+|\{[^}]*\}|\[[^\]]*\])\s*(?::\s*[\w<>\[\]|, .]+)?\s*=", 1.5),
        (r"^\s*(?:export\s+)?let\s+(?:[\w$]+|\{[^}]*\}|\[[^\]]*\])\s*(?::\s*[\w<>\[\]|, .]+)?\s*=", 0.7),
        (r"\bfunction\s*\*?\s*[\w$]*\s*\([^$]*$", 1.5),
        (r"=>\s*\{?", 0.5),
        (r"\(\s*(?:[\w$]+(?:\s*,\s*[\w$]+)*)?\s*\)\s*=>", 1.5),
        (r"\bconsole\.(?:log|error|warn|info|debug)\(", 3),
        (r"\brequire\(\s*['\"]", 3),
        (r"^\s*import\s+.+\s+from\s+['\"]", 3),
        (r"^\s*import\s+['\"]", 2.5),
        (r"^\s*export\s+(?:default|const|function|class|interface|type|async|let|enum|\{)", 3),
        (r"\bmodule\.exports\b", 3),
        (r"\b(?:document|window|navigator|localStorage)\.\w+", 2),
        (r"===", 1.5),
        (r"!==", 1.5),
        (r"\bundefined\b", 2),
        (r"\.then\(", 1.5),
        (r"\bJSON\.(?:parse|stringify)\(", 2.5),
        (r"^\s*(?:export\s+)?type\s+\w+(?:<[^>]*>)?\s*=", 2),
        (r"^\s*(?:export\s+)?interface\s+\w+(?:<[^>]*>)?\s*(?:extends\s+[\w<>, .]+)?\s*\{", 1.5),
        (r":\s*(?:string|number|boolean|any|void|unknown|never)\b", 2),
        (r"\bPromise\b", 2),
        (r"\.(?:addEventListener|querySelector|querySelectorAll|getElementById|preventDefault)\(", 3),
        (r"\b(?:useState|useEffect|useCallback|useMemo|React\.)\b", 2),
        (r"`[^`]*\$\{[^}]*\}", 1.5),
        (r"\basync\s+(?:function\b|\(|[\w$]+\s*=>)", 1.5),
        (r"\b(?:Object|Array)\.(?:keys|values|entries|assign|isArray|from)\(", 2),
        (r"\.(?:map|filter|reduce|forEach|push|slice|splice|indexOf|includes)\(", 0.5),
        (r"^\s*(?:private|public|protected|readonly)\s+[\w$]+\s*[?!]?:\s*[\w<>\[\]|]+", 1.5),
        (r"\bthis\.[\w$]+", 0.5),
        (r"\bnull\b", 0.3),
    ],
    "php": [
        (r"<\?php\b|<\?=", 4),
        (r"\$this->", 3),
        (r"\$\w+\s*->\s*\w+", 2),
        (r"\$\w+(?:\[[^\]]*\])?\s*(?:=|\.=|\+=)(?!=)", 1),
        (r"\bfunction\s+\w+\s*\([^)]*\$", 3),
        (r"^\s*(?:(?:public|private|protected|final|abstract)\s+)+(?:static\s+)?function\b", 3),
        (r"^\s*namespace\s+[\w\\]+\s*;", 3),
        (r"^\s*use\s+\\?\w+\\[\w\\]+(?:\s+as\s+\w+)?\s*;", 3),
        (r"\becho\s+.*;\s*$", 1.5),
        (r"\b(?:isset|json_encode|json_decode|htmlspecialchars|explode|implode|in_array|is_array|str_replace|preg_match|preg_replace|sprintf|var_dump|unset)\s*\(", 1.5),
        (r"array_[a-z_]+\s*\(", 1.5),
        (r"\bforeach\s*\(\s*\$[\w\->\[\]'\"]+\s+as\s+", 3),
        (r"\barray\s*\(", 1.5),
        (r"^\s*\?>", 2),
        (r"=>\s*\$", 1.5),
        (r"\$_(?:GET|POST|SERVER|SESSION|REQUEST|COOKIE|FILES|ENV)\b", 3),
        (r"\b(?:self|static|parent)::\$?\w+", 1.5),
        (r"\b(?:require|include)(?:_once)?\s*\(?\s*['\"_]", 1.5),
    ],
    "shell": [
        (r"^#!\s*\S*/(?:env\s+)?(?:ba|z|k|da)?sh\b", 4),
        (r"^\s*(?:if|elif|while|until)\s+.*;\s*(?:then|do)\s*$", 3),
        (r"^\s*(?:then|fi|do|done|esac)\s*(?:;.*|#.*)?$", 3),
        (r"^\s*(?:for|select)\s+\w+(?:\s+in\b.*)?;\s*do\s*$", 3),
        (r"^\s*(?:for|select)\s+\w+\s+in\b[^:]*$", 1),
        (r"^\s*case\s+.+\s+in\s*$", 3),
        (r";;\s*$", 3),
        (r"^\s*(?:export|local|readonly|declare|typeset)\s+(?:-\w+\s+)*[A-Za-z_]\w*(?:=|\s*$)", 2.5),
        (r"^\s*(?:[a-z_][a-z0-9_]*|[A-Z_][A-Z0-9_]*)=(?:\"[^\"]*\"|'[^']*'|\$\(.*\)|\$\{?\w+\}?|[^\s=;]*)\s*(?:#.*)?$", 1),
        (r"\"\$\{?[\w@#?*!]+(?:[^}\"]*\})?\"", 1.5),
        (r"\$\{[\w#!]+(?:\[[^\]]*\])?(?::?[-=+?#%/][^}]*)?\}", 1),
        (r"\$\((?=[a-z])", 1.5),
        (r"\$\(\(", 2),
        (r">&[12]\b", 2.5),
        (r">\s*/dev/null", 2.5),
        (r"\|\s*(?:grep|egrep|awk|sed|xargs|sort|uniq|cut|tr|head|tail|wc|tee|while\s+read)\b", 2.5),
        (r"^\s*(?:function\s+)?[\w-]+\s*\(\)\s*\{?\s*$", 1),
        (r"^\s*function\s+[\w-]+\s*\{?\s*$", 2),
        (r"^\s*(?:set|shopt)\s+[-+][a-zA-Z]", 2.5),
        (r"^\s*(?:echo|printf)\s", 1),
        (r"^\s*exit\s+\$?\w*\s*$", 1.5),
        (r"\[\s+-[a-zA-Z]\s+", 2.5),
        (r"-(?:eq|ne|lt|gt|le|ge|nt|ot)\s", 2.5),
        (r"\[\[\s", 2),
        (r"^\s*(?:source|\.)\s+\S+\s*$", 1.5),
        (r"\$[0-9#?@*!$]", 1.5),
        (r"^\s*(?:sudo|apt-get|apt|mkdir|rm|cp|mv|chmod|chown|cd|curl|wget|tar|git|docker|make|pip|ln|touch|cat|test|trap|shift|getopts|read)\s", 1),
        (r"\\\s*$", 0.3),
        (r" && ", 0.3),
        (r" \|\| ", 0.3),
    ],
    "sql": [
        (r"^\s*(?:SELECT|INSERT\s+INTO|DELETE\s+FROM|MERGE\s+INTO)\b", 2.5),
        (r"^\s*UPDATE\s+[\w.\"`]+\s+SET\b", 3, _I),
        (r"^\s*select\s+(?:distinct\s+)?(?:[\w.*]+(?:\s+as\s+\w+)?\s*,\s*)*[\w.*()]+(?:\s+as\s+\w+)?\s*(?:,\s*$|$|from\b)", 1.5, _I),
        (r"^\s*(?:insert\s+into|delete\s+from)\s+[\w.\"`]+", 2.5, _I),
        (r"^\s*(?:CREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMP(?:ORARY)?\s+)?(?:TABLE|VIEW|MATERIALIZED\s+VIEW|(?:UNIQUE\s+)?INDEX|FUNCTION|PROCEDURE|TRIGGER|SEQUENCE|SCHEMA|DATABASE|EXTENSION|TYPE|ROLE|USER)|ALTER\s+(?:TABLE|INDEX|VIEW|SEQUENCE|USER|ROLE)|DROP\s+(?:TABLE|VIEW|INDEX|FUNCTION|SCHEMA|DATABASE|TRIGGER|SEQUENCE|TYPE|USER)|TRUNCATE\s+TABLE|GRANT\s+[\w, ]+\s+ON|REVOKE\s+)\b", 3, _I),
        (r"^\s*(?:FROM|WHERE|GROUP\s+BY|ORDER\s+BY|HAVING|LIMIT|OFFSET|UNION(?:\s+ALL)?|(?:INNER|LEFT|RIGHT|FULL|CROSS)(?:\s+OUTER)?\s+JOIN|JOIN|ON|AND|OR|VALUES|SET|RETURNING|WITH|BEGIN|COMMIT|END|DECLARE|CASE|WHEN|ELSE)\b", 2),
        (r"^\s*(?:from|where|group\s+by|order\s+by|having|limit|inner\s+join|left\s+(?:outer\s+)?join|join|values|returning)\s+[\w.(*'\"]", 0.7),
        (r"\b(?:VARCHAR|NVARCHAR|CHAR|INTEGER|INT|BIGINT|SMALLINT|TINYINT|TEXT|TIMESTAMP|TIMESTAMPTZ|BOOLEAN|NUMERIC|DECIMAL|SERIAL|BIGSERIAL|DATE|DATETIME|UUID|JSONB|BLOB|REAL)\b", 1),
        (r"\b(?:varchar|nvarchar|char|numeric|decimal)\s*\(\s*\d+", 1.5, _I),
        (r"\b(?:PRIMARY\s+KEY|FOREIGN\s+KEY|NOT\s+NULL|REFERENCES|AUTO_INCREMENT|CONSTRAINT|ON\s+DELETE|ON\s+CONFLICT|IS\s+(?:NOT\s+)?NULL)\b", 2),
        (r"\b(?:primary\s+key|foreign\s+key|not\s+null|references\s+\w+\s*\(|auto_increment)\b", 1.5),
        (r"\b(?:COUNT|SUM|AVG|MIN|MAX|COALESCE|NOW|CAST|NULLIF|ROW_NUMBER)\s*\(", 1.5),
        (r"\b(?:count|sum|avg|coalesce|nullif)\(\s*(?:\*|distinct\b|[\w.]+\s*\))", 1, _I),
        (r"\b(?:FROM|JOIN|INTO)\s+[\w.\"`]+", 1),
        (r"\b(?:LIKE|IN|BETWEEN|EXISTS|DISTINCT|AS|THEN|DESC|ASC|LIMIT|INTERVAL|OVER|PARTITION\s+BY)\b", 0.5),
        (r"\.\w+\s*=\s*\w+\.\w", 1),
        (r"\$\$", 2),
        (r"\bplpgsql\b", 2, _I),
        (r"^\s*\)\s*;\s*$", 0.5),
        (r"\bDEFAULT\s+(?:\w+|'[^']*')", 1),
        (r"^\s*(?:ALTER|CREATE|DROP|COMMENT\s+ON|GRANT|REVOKE)\s+[A-Z]{3,}\b", 2.5),
        (r"^\s*(?:RETURNS|LANGUAGE|IMMUTABLE|STABLE|VOLATILE|STRICT|PARALLEL|SECURITY|COST|AS|IN|OUT|INOUT|OPERATOR|FUNCTION|STORAGE|CALLED\s+ON|DO|LOOP|END\s+LOOP|END\s+IF|ELSIF|RAISE|PERFORM|EXECUTE|IF|THEN)\b", 1.5),
        (r"\b(?:int2|int4|int8|float4|float8|bytea|oid|regclass|regproc|pg_catalog|plpgsql|nvarchar|varchar2|number\(\d+)\b", 0.5),
    ],
}


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_GATE_HEAD = re.compile(r"^(?:\^\\s\*|\^|\\b)?")
_GATE_END = re.compile(r"(?:\\b|\\s|\\\(|\\\.|\\\[|\\\{|[(.!:\[<{\"'$;,=)]|$)")


def _gate_words(pattern: str, flags: int) -> frozenset[str] | None:
    """Words one of which must occur (as a whole identifier) in any line the pattern
    matches, read off the pattern's start: `\\bword`, `^\\s*word`, `\\b(?:a|b|c)...`.
    None when the pattern does not start that way (it is then always tried)."""
    if _top_level_alternation(pattern):
        return None
    rest = pattern[_GATE_HEAD.match(pattern).end():]
    if rest.startswith("(?:"):
        depth, i = 0, 0
        while i < len(rest):
            if rest[i] == "\\":
                i += 2
                continue
            depth += rest[i] == "("
            depth -= rest[i] == ")"
            if depth == 0:
                break
            i += 1
        inner, after = rest[3:i], rest[i + 1:]
        if after[:1] in ("?", "*") or _top_level_alternation(after.split("|")[0]) and False:
            return None
        alts = _split_top(inner)
    else:
        alts = [rest]
        after = ""
    words = set()
    for alt in alts:
        m = re.match(r"[A-Za-z_][A-Za-z0-9_]*", alt)
        if not m:
            return None
        tail = alt[m.end():] or after
        if not _GATE_END.match(tail):
            return None
        words.add(m.group().lower() if flags & re.IGNORECASE else m.group())
    return frozenset(words)


def _split_top(inner: str) -> list[str]:
    parts, depth, cur, i = [], 0, "", 0
    while i < len(inner):
        ch = inner[i]
        if ch == "\\":
            cur += inner[i:i + 2]
            i += 2
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "|" and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
        i += 1
    parts.append(cur)
    return parts


class LangPatterns:
    """One language's patterns. A pattern that starts with literal words is only tried on
    lines containing one of them (a set lookup instead of a regex scan): most lines are
    tried against a handful of patterns, not all."""

    __slots__ = ("lang", "gated", "always", "camel", "snake")

    def __init__(self, lang: str, raw: list[tuple]):
        self.lang = lang
        # naming-style cues (weights for a line with a camelCase / snake_case identifier)
        self.camel = {"java": 0.3, "javascript": 0.3}.get(lang, 0.0)
        self.snake = {"c_cpp": 0.3}.get(lang, 0.0)
        self.gated = []  # (words, case_insensitive, regex, weight)
        self.always = []
        for entry in raw:
            pattern, weight = entry[0], float(entry[1])
            flags = entry[2] if len(entry) > 2 else 0
            rx = re.compile(pattern, flags)
            words = _gate_words(pattern, flags)
            if words:
                self.gated.append((words, bool(flags & re.IGNORECASE), rx, weight))
            else:
                self.always.append((rx, weight))

    def score(self, line: str, words: set[str] | None = None, lower: set[str] | None = None,
              style: tuple[bool, bool] = (False, False)) -> float:
        if words is None:
            words, lower = line_words(line)
            style = naming_style(words)
        total = self.camel * style[0] + self.snake * style[1]
        for need, nocase, rx, weight in self.gated:
            if not need.isdisjoint(lower if nocase else words) and rx.search(line):
                total += weight
        for rx, weight in self.always:
            if rx.search(line):
                total += weight
        return min(total, LINE_CAP)


def naming_style(words: set[str]) -> tuple[bool, bool]:
    """(has a camelCase identifier, has a snake_case identifier)"""
    camel = snake = False
    for w in words:
        if w[0].islower():
            if not camel and not w.islower() and not w.isupper():
                camel = True
            if not snake and "_" in w.strip("_") and w.islower():
                snake = True
    return camel, snake


def line_words(line: str) -> tuple[set[str], set[str]]:
    words = set(_IDENT.findall(line))
    return words, {w.lower() for w in words}


def _top_level_alternation(pattern: str) -> bool:
    depth, i = 0, 0
    in_class = False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            return True
        i += 1
    return False


PATTERNS = tuple(LangPatterns(lang, _RAW[lang]) for lang in LANGUAGES)


def language_from_filename(filename: str | None) -> str | None:
    if not filename:
        return None
    base = filename.replace("\\", "/").rsplit("/", 1)[-1].lower()
    if "." not in base:
        return None
    if base.endswith((".min.js", ".min.mjs", ".bundle.js")):
        return None
    return EXT_TO_LANG.get(base.rsplit(".", 1)[1])


def language_from_shebang(first_line: str) -> str | None:
    if not first_line.startswith("#!"):
        return None
    for rx, lang in SHEBANGS:
        if rx.search(first_line):
            return lang
    return None


# -- one pass over a line for all languages ------------------------------------------------
# An inverted index from gate word to the patterns it unlocks, so a line only tries the
# patterns whose words it contains, plus the few ungated ones.
_ENTRIES: list[tuple[int, re.Pattern, float]] = []
_BY_WORD: dict[str, list[int]] = {}
_BY_LOWER: dict[str, list[int]] = {}
_ALWAYS: list[tuple[int, re.Pattern, float]] = []
for _li, _lp in enumerate(PATTERNS):
    for _need, _nocase, _rx, _w in _lp.gated:
        _ENTRIES.append((_li, _rx, _w))
        for _word in _need:
            (_BY_LOWER if _nocase else _BY_WORD).setdefault(_word, []).append(len(_ENTRIES) - 1)
    for _rx, _w in _lp.always:
        _ALWAYS.append((_li, _rx, _w))
_CAMEL = [lp.camel for lp in PATTERNS]
_SNAKE = [lp.snake for lp in PATTERNS]


def score_line(line: str) -> dict[str, float]:
    """language -> score of this line (only languages with a positive score)."""
    words, lower = line_words(line)
    camel, snake = naming_style(words)
    cand: set[int] = set()
    for w in words:
        ids = _BY_WORD.get(w)
        if ids:
            cand.update(ids)
    for w in lower:
        ids = _BY_LOWER.get(w)
        if ids:
            cand.update(ids)
    totals = [0.0] * len(PATTERNS)
    if camel or snake:
        for i in range(len(PATTERNS)):
            totals[i] = _CAMEL[i] * camel + _SNAKE[i] * snake
    for i in cand:
        li, rx, w = _ENTRIES[i]
        if rx.search(line):
            totals[li] += w
    for li, rx, w in _ALWAYS:
        if rx.search(line):
            totals[li] += w
    return {LANGUAGES[i]: min(t, LINE_CAP) for i, t in enumerate(totals) if t > 0}
