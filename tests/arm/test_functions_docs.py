"""Examples from the ARM documentation, with the outputs the documentation lists.

Sources: learn.microsoft.com "template-functions-<area>" pages (MicrosoftDocs/azure-docs,
articles/azure-resource-manager/templates/template-functions-*.md) and the sample templates they
include (Azure/azure-docs-json-samples, azure-resource-manager/functions/<area>/<name>.json).
Cases marked "bicep" come from Azure/bicep, src/Bicep.Core.Samples/Files/baselines_bicepparam/
Expressions/parameters.json and src/Bicep.Core.UnitTests/TypeSystem/FunctionResolverTests.cs,
which hold values computed by the deployment engine itself.
"""

from __future__ import annotations

import pytest

from armguard.arm.evaluator import EvalContext, evaluate

DOGS = [
    {"name": "Evie", "age": 5, "interests": ["Ball", "Frisbee"]},
    {"name": "Casper", "age": 3, "interests": ["Other dogs"]},
    {"name": "Indy", "age": 2, "interests": ["Butter"]},
    {"name": "Kira", "age": 8, "interests": ["Rubs"]},
]

PARAMS = {
    "arrayToTest": ["one", "two", "three"],
    "stringToTest": "OneTwoThree",
    "objectToTest": {"one": "a", "two": "b", "three": "c"},
    "lengthObject": {"propA": "one", "propB": "two", "propC": "three", "propD": {"propD-1": "sub", "propD-2": "sub"}},
    "firstObject": {"one": "a", "two": "b", "three": "c1"},
    "secondObject": {"three": "c2", "four": "d", "five": "e"},
    "nullsObject": {"null1": None, "null2": None, "string": "default", "int": 1, "object": {"first": "default"},
                    "array": [1]},
    "numbers": [0, 3, 2, 5, 4],
    "dogs": DOGS,
}


def ev(text: str, **kwargs):
    kwargs.setdefault("parameters", PARAMS)
    return evaluate(text, EvalContext(**kwargs))


CASES = [
    # array.json
    ("[array(1)]", [1]),
    ("[array('efgh')]", ["efgh"]),
    ("[array(createObject('a', 'b', 'c', 'd'))]", [{"a": "b", "c": "d"}]),
    # concat-array.json, concat-string.json
    ("[concat(createArray('1-1', '1-2', '1-3'), createArray('2-1', '2-2', '2-3'))]",
     ["1-1", "1-2", "1-3", "2-1", "2-2", "2-3"]),
    ("[concat('prefix', '-', 'x')]", "prefix-x"),
    # contains.json
    ("[contains('OneTwoThree', 'e')]", True),
    ("[contains('OneTwoThree', 'z')]", False),
    ("[contains(parameters('objectToTest'), 'one')]", True),
    ("[contains(parameters('objectToTest'), 'a')]", False),
    ("[contains(parameters('arrayToTest'), 'three')]", True),
    ("[contains(parameters('arrayToTest'), 'four')]", False),
    # createarray.json
    ("[createArray('a', 'b', 'c')]", ["a", "b", "c"]),
    ("[createArray(1, 2, 3)]", [1, 2, 3]),
    ("[createArray()]", []),
    # empty.json
    ("[empty(createArray())]", True),
    ("[empty(createObject())]", True),
    ("[empty('')]", True),
    # first.json, last.json
    ("[first(parameters('arrayToTest'))]", "one"),
    ("[first('One Two Three')]", "O"),
    ("[last(parameters('arrayToTest'))]", "three"),
    ("[last('One Two Three')]", "e"),
    # intersection.json
    ("[intersection(createObject('one', 'a', 'two', 'b', 'three', 'c'), createObject('one', 'a', 'two', 'z', 'three', 'c'))]",
     {"one": "a", "three": "c"}),
    ("[intersection(parameters('arrayToTest'), createArray('two', 'three'))]", ["two", "three"]),
    # length.json
    ("[length(parameters('arrayToTest'))]", 3),
    ("[length('One Two Three')]", 13),
    ("[length(parameters('lengthObject'))]", 4),
    # range.json, skip.json, take.json
    ("[range(5, 3)]", [5, 6, 7]),
    ("[skip(parameters('arrayToTest'), 2)]", ["three"]),
    ("[skip('one two three', 4)]", "two three"),
    ("[take(parameters('arrayToTest'), 2)]", ["one", "two"]),
    ("[take('one two three', 2)]", "on"),
    # union.json and the deep-merge example of template-functions-object.md
    ("[union(parameters('firstObject'), parameters('secondObject'))]",
     {"one": "a", "two": "b", "three": "c2", "four": "d", "five": "e"}),
    ("[union(parameters('arrayToTest'), createArray('three', 'four'))]", ["one", "two", "three", "four"]),
    ("[union(json('{\"property\":{\"one\":\"a\",\"two\":\"b\",\"three\":\"c1\"},\"nestedArray\":[1,2]}'), "
     "json('{\"property\":{\"three\":\"c2\",\"four\":\"d\",\"five\":\"e\"},\"nestedArray\":[3,4]}'))]",
     {"property": {"one": "a", "two": "b", "three": "c2", "four": "d", "five": "e"}, "nestedArray": [3, 4]}),
    ("[union(json('[[\"one\",\"two\"],[\"three\"]]'), json('[[\"three\"],[\"four\",\"two\"]]'))]",
     [["one", "two"], ["three"], ["four", "two"]]),
    # coalesce.json
    ("[coalesce(parameters('nullsObject').null1, parameters('nullsObject').null2, parameters('nullsObject').string)]",
     "default"),
    ("[coalesce(parameters('nullsObject').null1, parameters('nullsObject').null2, parameters('nullsObject').int)]", 1),
    ("[coalesce(parameters('nullsObject').null1, parameters('nullsObject').null2, parameters('nullsObject').object)]",
     {"first": "default"}),
    ("[empty(coalesce(parameters('nullsObject').null1, parameters('nullsObject').null2))]", True),
    # equals (template-functions-comparison.md), not-equals.json
    ("[equals(1, 1)]", True),
    ("[equals(createArray('a', 'b'), createArray('a', 'b'))]", True),
    ("[equals(createObject('a', 'b'), createObject('a', 'b'))]", True),
    ("[not(equals(1, 2))]", True),
    # greater.json, greaterorequals.json, less.json, lessorequals.json
    ("[greater(1, 2)]", False),
    ("[greater('A', 'a')]", True),
    ("[greaterOrEquals(1, 2)]", False),
    ("[greaterOrEquals('A', 'a')]", True),
    ("[less(1, 2)]", True),
    ("[less('A', 'a')]", False),
    ("[lessOrEquals(1, 2)]", True),
    ("[lessOrEquals('A', 'a')]", False),
    # andornot.json, bool.json, if.json, true.json, false.json
    ("[and(bool('true'), bool('false'))]", False),
    ("[or(bool('true'), bool('false'))]", True),
    ("[not(bool('true'))]", False),
    ("[bool(1)]", True),
    ("[bool(0)]", False),
    ("[if(equals('a', 'a'), 'yes', 'no')]", "yes"),
    ("[if(equals('a', 'b'), 'yes', 'no')]", "no"),
    ("[if(equals('a', 'a'), json('{\"test\": \"value1\"}'), json('null'))]", {"test": "value1"}),
    ("[true()]", True),
    ("[false()]", False),
    # numeric: add.json, div.json, int.json, max.json, min.json, mod.json, mul.json, sub.json
    ("[add(5, 3)]", 8),
    ("[div(8, 3)]", 2),
    ("[int('4')]", 4),
    ("[max(parameters('numbers'))]", 5),
    ("[max(0, 3, 2, 5, 4)]", 5),
    ("[min(parameters('numbers'))]", 0),
    ("[min(0, 3, 2, 5, 4)]", 0),
    ("[mod(7, 3)]", 1),
    ("[mul(mul(5, 3), 3)]", 45),
    ("[sub(7, 3)]", 4),
    # createobject.json
    ("[createObject('intProp', 1, 'stringProp', 'abc', 'boolProp', true(), 'arrayProp', createArray('a', 'b', 'c'), "
     "'objectProp', createObject('key1', 'value1'))]",
     {"intProp": 1, "stringProp": "abc", "boolProp": True, "arrayProp": ["a", "b", "c"], "objectProp": {"key1": "value1"}}),
    # json.json, null.json
    ("[empty(json('null'))]", True),
    ("[json('{\"a\": \"b\"}')]", {"a": "b"}),
    ("[json('\"test\"')]", "test"),
    ("[json('true')]", True),
    ("[json('3')]", 3),
    ("[json('[1,2,3 ]')]", [1, 2, 3]),
    ("[json(concat('{\"a\": \"', 'demo value', '\"}'))]", {"a": "demo value"}),
    ("[empty(null())]", True),
    # items (template-functions-object.md): entries sorted by key
    ("[items(json('{\"item002\": {\"enabled\": false}, \"item001\": {\"enabled\": true}}'))]",
     [{"key": "item001", "value": {"enabled": True}}, {"key": "item002", "value": {"enabled": False}}]),
    # string: base64.json, datauri.json, format.json, indexof.json, join.json, padleft.json, replace.json,
    # split.json, startsendswith.json, string.json, substring.json, tolower.json, trim.json, uri.json
    ("[base64('one, two, three')]", "b25lLCB0d28sIHRocmVl"),
    ("[base64ToString('b25lLCB0d28sIHRocmVl')]", "one, two, three"),
    ("[base64ToJson(base64('{''one'': ''a'', ''two'': ''b''}'))]", {"one": "a", "two": "b"}),
    ("[dataUriToString('data:;base64,SGVsbG8sIFdvcmxkIQ==')]", "Hello, World!"),
    ("[format('{0}, {1}. Formatted number: {2:N0}', 'Hello', 'User', 8175133)]",
     "Hello, User. Formatted number: 8,175,133"),
    ("[indexOf('test', 't')]", 0),
    ("[lastIndexOf('test', 't')]", 3),
    ("[indexOf('abcdef', 'CD')]", 2),
    ("[lastIndexOf('abcdef', 'AB')]", 0),
    ("[indexOf('abcdef', 'z')]", -1),
    ("[join(createArray('one', 'two', 'three'), ',')]", "one,two,three"),
    ("[padLeft('123', 10, '0')]", "0000000123"),
    ("[replace('123-123-1234', '-', '')]", "1231231234"),
    ("[replace('123-123-1234', '1234', 'xxxx')]", "123-123-xxxx"),
    ("[split('one,two,three', ',')]", ["one", "two", "three"]),
    ("[split('one;two,three', createArray(',', ';'))]", ["one", "two", "three"]),
    ("[startsWith('abcdef', 'ab')]", True),
    ("[startsWith('abcdef', 'A')]", True),
    ("[startsWith('abcdef', 'e')]", False),
    ("[endsWith('abcdef', 'ef')]", True),
    ("[endsWith('abcdef', 'F')]", True),
    ("[endsWith('abcdef', 'e')]", False),
    ("[string(json('{\"valueA\": 10, \"valueB\": \"Example Text\"}'))]", '{"valueA":10,"valueB":"Example Text"}'),
    ("[string(createArray('a', 'b', 'c'))]", '["a","b","c"]'),
    ("[string(5)]", "5"),
    ("[substring('one two three', 4, 3)]", "two"),
    ("[toLower('One Two Three')]", "one two three"),
    ("[toUpper('One Two Three')]", "ONE TWO THREE"),
    ("[trim('    one two three   ')]", "one two three"),
    ("[uri('http://contoso.com/resources/', 'nested/azuredeploy.json')]",
     "http://contoso.com/resources/nested/azuredeploy.json"),
    ("[uriComponent('http://contoso.com/resources/nested/azuredeploy.json')]",
     "http%3A%2F%2Fcontoso.com%2Fresources%2Fnested%2Fazuredeploy.json"),
    ("[uriComponentToString('http%3A%2F%2Fcontoso.com%2Fresources%2Fnested%2Fazuredeploy.json')]",
     "http://contoso.com/resources/nested/azuredeploy.json"),
    # lambda functions (template-functions-lambda.md)
    ("[filter(parameters('dogs'), lambda('dog', greaterOrEquals(lambdaVariables('dog').age, 5)))]", [DOGS[0], DOGS[3]]),
    ("[filter(range(0, 10), lambda('i', equals(0, mod(lambdaVariables('i'), 2))))]", [0, 2, 4, 6, 8]),
    ("[map(parameters('dogs'), lambda('dog', lambdaVariables('dog').name))]", ["Evie", "Casper", "Indy", "Kira"]),
    ("[map(parameters('dogs'), lambda('dog', format('Hello {0}!', lambdaVariables('dog').name)))]",
     ["Hello Evie!", "Hello Casper!", "Hello Indy!", "Hello Kira!"]),
    ("[map(range(0, 2), lambda('i', createObject('i', lambdaVariables('i'), 'dog', parameters('dogs')[lambdaVariables('i')].name)))]",
     [{"i": 0, "dog": "Evie"}, {"i": 1, "dog": "Casper"}]),
    ("[reduce(map(parameters('dogs'), lambda('dog', lambdaVariables('dog').age)), 0, "
     "lambda('cur', 'next', add(lambdaVariables('cur'), lambdaVariables('next'))))]", 18),
    ("[reduce(map(parameters('dogs'), lambda('dog', lambdaVariables('dog').age)), 1, "
     "lambda('cur', 'next', add(lambdaVariables('cur'), lambdaVariables('next'))))]", 19),
    ("[reduce(createArray(createObject('foo', 123), createObject('bar', 456), createObject('baz', 789)), createObject(), "
     "lambda('cur', 'next', union(lambdaVariables('cur'), lambdaVariables('next'))))]", {"foo": 123, "bar": 456, "baz": 789}),
    ("[map(sort(parameters('dogs'), lambda('a', 'b', less(lambdaVariables('a').age, lambdaVariables('b').age))), "
     "lambda('d', lambdaVariables('d').name))]", ["Indy", "Casper", "Evie", "Kira"]),
    ("[toObject(parameters('dogs'), lambda('entry', lambdaVariables('entry').name))]", {d["name"]: d for d in DOGS}),
    ("[toObject(parameters('dogs'), lambda('entry', lambdaVariables('entry').name), lambda('entry', lambdaVariables('entry').age))]",
     {"Evie": 5, "Casper": 3, "Indy": 2, "Kira": 8}),
    # cidr functions (template-functions-cidr.md)
    ("[parseCidr('10.144.0.0/20')]", {"network": "10.144.0.0", "netmask": "255.255.240.0", "broadcast": "10.144.15.255",
                                       "firstUsable": "10.144.0.1", "lastUsable": "10.144.15.254", "cidr": 20}),
    ("[parseCidr('fdad:3236:5555::/48')]", {"network": "fdad:3236:5555::", "netmask": "ffff:ffff:ffff::",
                                             "firstUsable": "fdad:3236:5555::",
                                             "lastUsable": "fdad:3236:5555:ffff:ffff:ffff:ffff:ffff", "cidr": 48}),
    ("[map(range(0, 5), lambda('i', cidrSubnet('10.144.0.0/20', 24, lambdaVariables('i'))))]",
     ["10.144.0.0/24", "10.144.1.0/24", "10.144.2.0/24", "10.144.3.0/24", "10.144.4.0/24"]),
    ("[map(range(0, 3), lambda('i', cidrSubnet('fdad:3236:5555::/48', 52, lambdaVariables('i'))))]",
     ["fdad:3236:5555::/52", "fdad:3236:5555:1000::/52", "fdad:3236:5555:2000::/52"]),
    ("[map(range(0, 3), lambda('i', cidrHost('10.144.3.0/24', lambdaVariables('i'))))]",
     ["10.144.3.1", "10.144.3.2", "10.144.3.3"]),
    ("[map(range(0, 2), lambda('i', cidrHost('fdad:3236:5555:3000::/52', lambdaVariables('i'))))]",
     ["fdad:3236:5555:3000::1", "fdad:3236:5555:3000::2"]),
    # date: template-functions-date.md (dateTimeFromEpoch / dateTimeToEpoch examples)
    ("[dateTimeFromEpoch(1683040573)]", "2023-05-02T15:16:13Z"),
    ("[dateTimeToEpoch('2023-05-02T15:16:13Z')]", 1683040573),
    # bicep: values computed by the deployment engine
    ("[dateTimeAdd(dateTimeFromEpoch(1680224438), 'P1D')]", "2023-04-01T01:00:38Z"),
    ("[dateTimeToEpoch(dateTimeFromEpoch(1680224438))]", 1680224438),
    ("[padLeft(13, 5)]", "   13"),
    ("[padLeft('00', 5, ' ')]", "   00"),
    ("[uriComponent('UB*8h 0+=_)9h9n')]", "UB%2A8h%200%2B%3D_%299h9n"),
    ("[uriComponentToString('%20%25%20')]", " % "),
    ("[uri('https://github.com', 'Azure/bicep')]", "https://github.com/Azure/bicep"),
    ("[uri('https://github.com/another/repo', '/Azure/bicep')]", "https://github.com/Azure/bicep"),
    ("[format('{0}/{1}/{2}/{3}', 1, 2, 3, true())]", "1/2/3/True"),
    ("[format('->{0}<-', 123)]", "->123<-"),
    ("[join(createArray('abc', 123, true()), '/')]", "abc/123/True"),
    ("[dataUri(' Fizz ')]", "data:text/plain;charset=utf-8;base64,IEZpenog"),
    ("[dataUriToString('data:text/plain;charset=utf-8;base64,IEZpenog')]", " Fizz "),
    ("[base64(' Fizz ')]", "IEZpenog"),
    ("[first(createArray())]", None),
    ("[last(createArray())]", None),
    ("[indexOf(createArray('fizz', 'buzz', 'pop', 'fizz'), 'fizz')]", 0),
    ("[lastIndexOf(createArray('fizz', 'buzz', 'pop', 'fizz'), 'fizz')]", 3),
    ("[lastIndexOf('abcba', 'b')]", 3),
    ("[substring('asdfasf', 3)]", "fasf"),
    ("[items(createObject('foo', 'abc', 'bar', 123))]", [{"key": "bar", "value": 123}, {"key": "foo", "value": "abc"}]),
    ("[reduce(createArray('a', 'b', 'c'), '', lambda('a', 'b', format('{0}-{1}', lambdaVariables('a'), lambdaVariables('b'))))]",
     "-a-b-c"),
    ("[sort(createArray('c', 'd', 'a'), lambda('a', 'b', less(lambdaVariables('a'), lambdaVariables('b'))))]",
     ["a", "c", "d"]),
    ("[toObject(createArray('a', 'b', 'c'), lambda('x', lambdaVariables('x')), lambda('x', format('Hi {0}!', lambdaVariables('x'))))]",
     {"a": "Hi a!", "b": "Hi b!", "c": "Hi c!"}),
    ("[flatten(createArray(createArray('abc'), createArray('def')))]", ["abc", "def"]),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0][:60] for c in CASES])
def test_documented_example(text, expected):
    assert ev(text) == expected


def test_utc_now_formats_from_the_date_docs():
    # template-functions-date.md: utcNow() is 'yyyyMMddTHHmmssZ', utcNow('d') is 'MM/dd/yyyy' and
    # utcNow('M d') is e.g. '3 5'. Our clock is fixed (2025-01-01T00:00:00Z plus `seed` seconds).
    assert ev("[utcNow()]") == "20250101T000000Z"
    assert ev("[utcNow('d')]") == "01/01/2025"
    assert ev("[utcNow('M d')]") == "1 1"
    assert ev("[utcNow('u')]", seed=3600) == "2025-01-01 01:00:00Z"


def test_date_time_add_keeps_the_format_of_its_base():
    # template-functions-date.md: P3Y, -P9D and PT1H on the base '2020-04-07 14:53:14Z'.
    assert ev("[dateTimeAdd('2020-04-07 14:53:14Z', 'P3Y')]") == "2023-04-07 14:53:14Z"
    assert ev("[dateTimeAdd('2020-04-07 14:53:14Z', '-P9D')]") == "2020-03-29 14:53:14Z"
    assert ev("[dateTimeAdd('2020-04-07 14:53:14Z', 'PT1H')]") == "2020-04-07 15:53:14Z"
    assert ev("[dateTimeAdd('2020-01-31T00:00:00Z', 'P1M', 'yyyy-MM-dd')]") == "2020-02-29"


def test_resource_id_examples():
    # resourceid.json and template-functions-resource.md
    sub = "00000000-0000-0000-0000-000000000000"
    assert ev("[resourceId('Microsoft.Storage/storageAccounts', 'examplestorage')]") == (
        f"/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/examplestorage")
    assert ev("[resourceId('otherResourceGroup', 'Microsoft.Storage/storageAccounts', 'examplestorage')]") == (
        f"/subscriptions/{sub}/resourceGroups/otherResourceGroup/providers/Microsoft.Storage/storageAccounts/examplestorage")
    assert ev("[resourceId('11111111-1111-1111-1111-111111111111', 'otherResourceGroup', "
              "'Microsoft.Storage/storageAccounts', 'examplestorage')]") == (
        "/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/otherResourceGroup"
        "/providers/Microsoft.Storage/storageAccounts/examplestorage")
    assert ev("[resourceId('Microsoft.SQL/servers/databases', 'serverName', 'databaseName')]") == (
        f"/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.SQL/servers/serverName/databases/databaseName")


def test_scope_resource_id_examples():
    sub = "00000000-0000-0000-0000-000000000000"
    assert ev("[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', "
              "'acdd72a7-3385-48ef-bd42-f606fba81ae7')]") == (
        f"/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7")
    assert ev("[tenantResourceId('Microsoft.Authorization/policyDefinitions', 'p1')]") == (
        "/providers/Microsoft.Authorization/policyDefinitions/p1")
    assert ev("[extensionResourceId(resourceGroup().id, 'Microsoft.Authorization/locks', 'lock1')]") == (
        f"/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.Authorization/locks/lock1")
    assert ev("[managementGroupResourceId('mg1', 'Microsoft.Authorization/policyDefinitions', 'p1')]") == (
        "/providers/Microsoft.Management/managementGroups/mg1/providers/Microsoft.Authorization/policyDefinitions/p1")


def test_pick_zones_examples():
    # pickzones.json: westus2 supports zones, northcentralus does not.
    assert ev("[pickZones('Microsoft.Compute', 'virtualMachines', 'westus2')]") == ["1"]
    assert ev("[pickZones('Microsoft.Compute', 'virtualMachines', 'northcentralus')]") == []
    assert ev("[pickZones('Microsoft.Network', 'publicIPAddresses', 'West US 2', 3)]") == ["1", "2", "3"]
    assert ev("[pickZones('Microsoft.Network', 'publicIPAddresses', 'westus2', 2, 1)]") == ["2", "3"]
