"""Property-based robustness of the Bicep front end.

Real-looking Bicep is mutated (characters and tokens inserted, deleted and replaced, truncation,
duplicated and swapped lines, random unicode) and arbitrary text is generated. Whatever the input:
`parse_text` returns a Program without raising, every diagnostic points inside the file, and
`load_graph` raises nothing but ArmguardError.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from armguard.bicep import load_graph, parse_text
from armguard.bicep import syntax as s
from armguard.errors import ArmguardError
from armguard.source import SourceFile

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                print_blob=True)

SEEDS = [
    # resources, nesting, loops, conditions, decorators
    """targetScope = 'resourceGroup'
@description('Where to deploy')
param location string = resourceGroup().location
param names array = ['a', 'b']
@minValue(1)
param count int = 2
var prefix = 'hub-${location}'

resource hub 'Microsoft.Network/virtualHubs@2023-04-01' = {
  name: prefix
  location: location
  properties: {
    sku: 'Standard'
  }
  resource bgp 'bgpConnections' = {
    name: 'bgp'
    properties: {
      peerAsn: 65001
      peerIp: '10.0.0.4'
    }
  }
}

@batchSize(1)
resource peers 'Microsoft.Network/virtualHubs/hubVirtualNetworkConnections@2023-04-01' = [for (n, i) in names: if (i < count) {
  parent: hub
  name: 'peer-${n}-${i}'
  dependsOn: [
    hub::bgp
  ]
}]

resource kv 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: 'kv'
}

output uri string = kv.properties.vaultUri
""",
    # expressions of every kind
    """var a = {
  x: 1, y: [1, 2, 3]
  z: 'it\\'s \\u{1F600} ${'nested ${1 + 2}'}'
  ...other
}
var b = [for x in range(0, 10): if (x % 2 == 0) {
  v: x * 2 + 1
  w: x > 3 ? 'big' : x == 0 ? 'zero' : 'small'
}]
var c = a.?x ?? a[?'y'][^1] ?? a!.z
var d = map(b, item => item.v)
var e = reduce(range(0, 3), 0, (acc, n) => acc + n)
var f = '''
multi ${not} interpolated
'''
var g = $'''
interpolated ${a.x} here
'''
var h = !(true && false) || 1 <= 2 && 'a' =~ 'A' && 'b' !~ 'c'
var i = sys.concat('x', az.resourceGroup().name)
var j = -(-1) + +2 - 3 / 4 * 5 % 6
""",
    # types, functions, imports, extensions, modules
    """import {shared as s, other} from 'shared.bicep'
import * as ns from 'types.bicep'
extension kubernetes with {
  namespace: 'default'
  kubeConfig: 'x'
} as k8s

@export()
type pair = [
  @description('first')
  string
  int
]
@sealed()
type cfg = {
  @description('name')
  name: string
  tags: { *: string }?
  kind: 'a' | 'b' | 'c'
  sub: resourceInput<'Microsoft.Storage/storageAccounts@2023-01-01'>.properties
}
type many =
  | 'x'
  | 'y'

func build(p cfg, n int) string => '${p.name}-${n}'

module m 'mod.bicep' = {
  name: 'm'
  params: {
    p: build({ name: 'x', kind: 'a' }, 1)
  }
}
module avm 'br/public:avm/res/network/virtual-network:0.5.0' = {
  name: 'avm'
}
module spec 'ts:00000000-0000-0000-0000-000000000000/rg/spec:1.0' = {
  name: 'spec'
}
#disable-next-line no-unused-vars
var out = m.outputs.id
/* block
comment */
""",
    # test framework and CRLF line endings
    "metadata info = {\r\n  owner: 'me'\r\n}\r\ntest t1 'main.bicep' = {\r\n  params: {}\r\n}\r\n"
    "assert ok = length('x') > 0\r\n",
]

BICEPPARAM_SEED = """using 'main.bicep'
extends 'base.bicepparam'
import { shared } from 'shared.bicep'
var two = 2
param count = two + 1
param names = [
  'p'
  'q'
]
param location = 'westeurope'
"""

TEMPLATE_FOR_PARAMS = """param count int
param names array
param location string
resource r 'Microsoft.Storage/storageAccounts@2023-01-01' = [for i in range(0, count): {
  name: '${names[0]}${i}'
  location: location
}]
"""

MODULE = """param p string = ''
output id string = p
resource st 'Microsoft.Storage/storageAccounts@2023-01-01' = {
  name: 'x${p}'
}
"""

TOKENS = [
    "'", "''", "'''", "$'''", "${", "}", "{", "[", "]", "(", ")", "\n", "\r\n", "\r", "?", ":", "!", ".", "::",
    "=>", "...", "@", "#", "/*", "*/", "//", ",", "|", "=", "??", ".?", "[?", "[^", "\\", "\\u{", "$", "0",
    "-", "for", "in", "if", "resource", "existing", "param", "var", "module", "output", "type", "func", "import",
    "using", "extends", "with", "as", "null", "true", "@batchSize(", "dependsOn: [", "parent: ", "scope: ",
    "é", "日本", "😀", "\ufeff", "\u2028", "\t", "\x0c", "\x00",
]


@st.composite
def mutated(draw: st.DrawFn, seeds: list[str] = SEEDS) -> str:
    text = draw(st.sampled_from(seeds))
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["insert", "delete", "replace", "truncate", "dup_line", "swap_lines",
                                   "unicode", "slice_copy"]))
        pos = draw(st.integers(0, len(text)))
        if op == "insert":
            text = text[:pos] + draw(st.sampled_from(TOKENS)) + text[pos:]
        elif op == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 30)):]
        elif op == "replace":
            text = text[:pos] + draw(st.sampled_from(TOKENS)) + text[pos + draw(st.integers(1, 5)):]
        elif op == "truncate":
            text = text[:pos]
        elif op == "unicode":
            text = text[:pos] + draw(st.text(min_size=1, max_size=3)) + text[pos:]
        elif op == "slice_copy":
            other = draw(st.integers(0, len(text)))
            lo, hi = min(pos, other), max(pos, other)
            text = text[:pos] + text[lo:hi] + text[pos:]
        else:
            lines = text.split("\n")
            i = draw(st.integers(0, len(lines) - 1))
            if op == "dup_line":
                lines.insert(i, lines[i])
            else:
                j = draw(st.integers(0, len(lines) - 1))
                lines[i], lines[j] = lines[j], lines[i]
            text = "\n".join(lines)
    return text


def check_program(text: str) -> None:
    program = parse_text(text, "fuzz.bicep")
    assert isinstance(program, s.Program)
    assert all(isinstance(st_, s.Statement) for st_ in program.statements)
    source = SourceFile("fuzz.bicep", text)
    for d in program.diagnostics:
        assert d.path == "fuzz.bicep" and d.message
        assert 1 <= d.line <= source.line_count, (d, source.line_count)
        assert 1 <= d.column <= len(source.line_text(d.line)) + 1, (d, source.line_text(d.line))
    for st_ in program.statements:
        assert 0 <= st_.start <= st_.end <= len(text), st_


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="armguard-fuzz-") as d:
        root = Path(d)
        (root / "mod.bicep").write_text(MODULE, encoding="utf-8")
        (root / "shared.bicep").write_text("@export()\nvar shared = 1\n", encoding="utf-8")
        (root / "base.bicepparam").write_text("using none\nparam location = 'x'\n", encoding="utf-8")
        yield root


def check_load(path: Path, params: Path | None = None) -> None:
    with contextlib.suppress(ArmguardError):
        load_graph(path, params)


# ------------------------------------------------------------------ parsing

@FUZZ
@given(mutated())
def test_parse_mutated_bicep_never_raises(text):
    check_program(text)


@FUZZ
@given(st.text(max_size=300))
def test_parse_arbitrary_text_never_raises(text):
    check_program(text)


@FUZZ
@given(st.lists(st.sampled_from(TOKENS), max_size=60).map(" ".join))
def test_parse_token_soup_never_raises(text):
    check_program(text)


@FUZZ
@given(mutated())
def test_parse_is_deterministic(text):
    a = parse_text(text, "x.bicep")
    b = parse_text(text, "x.bicep")
    assert [str(d) for d in a.diagnostics] == [str(d) for d in b.diagnostics]
    assert [type(x) for x in a.statements] == [type(x) for x in b.statements]


@pytest.mark.parametrize("seed", SEEDS)
def test_seeds_parse_cleanly(seed):
    """The unmutated seeds are valid Bicep, so the fuzz tests start from meaningful input."""
    assert parse_text(seed).diagnostics == []


# ------------------------------------------------------------------ loading

@FUZZ
@given(text=mutated())
def test_load_graph_on_mutated_bicep_raises_only_armguard_error(workdir, text):
    main = workdir / "main.bicep"
    main.write_text(text, encoding="utf-8")
    check_load(main)


@FUZZ
@given(text=st.text(max_size=200))
def test_load_graph_on_arbitrary_text_raises_only_armguard_error(workdir, text):
    main = workdir / "main.bicep"
    main.write_text(text, encoding="utf-8")
    check_load(main)


@FUZZ
@given(data=st.binary(max_size=200))
def test_load_graph_on_arbitrary_bytes_raises_only_armguard_error(workdir, data):
    main = workdir / "main.bicep"
    main.write_bytes(data)
    check_load(main)


@FUZZ
@given(text=mutated(seeds=[BICEPPARAM_SEED]))
def test_load_graph_on_mutated_bicepparam_raises_only_armguard_error(workdir, text):
    (workdir / "main.bicep").write_text(TEMPLATE_FOR_PARAMS, encoding="utf-8")
    params = workdir / "main.bicepparam"
    params.write_text(text, encoding="utf-8")
    check_load(params)
    check_load(workdir / "main.bicep", params)


def test_seeds_load_cleanly(workdir):
    for seed in SEEDS[:2]:
        main = workdir / "main.bicep"
        main.write_text(seed, encoding="utf-8")
        assert load_graph(main).errors == []
