"""BFCL's AST checker rules (v4, Python categories), written for mcpft and tested call by call against the official
checker (tests/test_bfcl.py): same verdicts and the same error types.

A model's output is a list of calls `[{name: {param: value}}]` (names as the model wrote them; BFCL's `.` in
function names is `_` for function-calling models, as here). The rules, in BFCL's words where they differ from
the project's own `args_match`:
- strings match after removing spaces and `, . / - _ * ^`, lowercasing and `'` -> `"`; inside lists too, and as
  dict values; anything else is compared with `in` against the allowed values;
- types are exact (`5.0` is not an integer), except an int for a float parameter; a value of the type of the
  allowed answers is accepted as a "variable" even when the function declares another type;
- every required parameter present, no parameter outside both the function's properties and the answer, an
  omitted parameter allowed only when `""` is among its allowed values;
- simple and multiple categories: exactly one call; parallel ones: every call, matched greedily in any order;
- irrelevance: right when there is no call.
"""

from __future__ import annotations

import re
from typing import Any

PYTHON_TYPES: dict[str, type] = {
    "string": str,
    "integer": int,
    "float": float,
    "boolean": bool,
    "array": list,
    "tuple": list,
    "dict": dict,
    "any": str,
}
NESTED = ("array", "tuple")  # declared types whose items are type-checked (one level deep, as BFCL does)
_STRIP = re.compile(r"[ ,./\-_*^]")

Verdict = dict[str, Any]  # {"valid": bool, "error": [str], "error_type": str}


def _ok() -> Verdict:
    return {"valid": True, "error": []}


def _bad(error_type: str, message: str) -> Verdict:
    return {"valid": False, "error": [message], "error_type": error_type}


def standardize(text: str) -> str:
    """BFCL's string normalisation: 'April 1, 2024', 'april 1 2024' and 'April_1-2024' compare equal."""
    return _STRIP.sub("", text).lower().replace("'", '"')


def model_name(function_name: str) -> str:
    """The name a function-calling model sees and answers with (BFCL: `.` -> `_`)."""
    return function_name.replace(".", "_")


def _answer_type(allowed: list) -> type | None:
    """The type of the first allowed value that is not the optional marker `""`."""
    return next((type(a) for a in allowed if a != ""), None)


def _type_check(
    param: str, value: Any, allowed: list, declared: str, expected: type, nested: type | None
) -> Verdict:
    answer_type = _answer_type(allowed)
    variable = answer_type is not None and answer_type != expected  # the answer is written as another type
    result: Verdict = {"valid": True, "error": [], "is_variable": False, "error_type": "type_error:simple"}
    if type(value) is expected:
        if nested is None:
            result["is_variable"] = variable
            return result
        for option in allowed:  # each item must have the nested type for at least one allowed value
            fits = True
            if type(option) is list:
                fits = all(_type_check(param, v, option, str(nested), nested, None)["valid"] for v in value)
            if fits:
                return {"valid": True, "error": [], "is_variable": variable}
        result.update(valid=False, error_type="type_error:nested",
                      error=[f"Nested type checking failed for parameter {param!r}."])  # fmt: skip
    if answer_type is not None and type(value) is answer_type:
        result["is_variable"] = True
        return result  # valid unless the nested check above failed
    result["valid"] = False
    result["error"].append(
        f"Incorrect type for parameter {param!r}. Expected type {declared}, got {type(value).__name__}."
    )
    result["error_type"] = "type_error:simple"
    return result


def _string_check(param: str, value: str, allowed: list) -> Verdict:
    if standardize(value) not in [standardize(a) for a in allowed if type(a) is str]:
        return _bad(
            "value_error:string",
            f"Invalid value for parameter {param!r}: {value!r}. Expected one of {allowed}.",
        )
    return _ok()


def _list_check(param: str, value: list, allowed: list) -> Verdict:
    norm = [standardize(v) if type(v) is str else v for v in value]
    options = [[standardize(x) if type(x) is str else x for x in option] for option in allowed]  # "" -> []
    if norm not in options:
        return _bad(
            "value_error:list/tuple",
            f"Invalid value for parameter {param!r}: {value!r}. Expected one of {allowed}.",
        )
    return _ok()


def _dict_check(param: str, value: dict, allowed: list) -> Verdict:
    result: Verdict = {"valid": False, "error": [], "error_type": "dict_checker:unclear"}
    for option in allowed:
        if option == "":
            continue
        result = {"valid": False, "error": [], "error_type": "dict_checker:unclear"}
        fits = True
        for key, v in value.items():
            if key not in option:
                result = _bad("value_error:dict_key", f"Unexpected dict key parameter: {key!r}.")
                fits = False
                break
            options = [standardize(a) if type(a) is str else a for a in option[key]]
            if (standardize(v) if type(v) is str else v) not in options:
                result = _bad("value_error:dict_value", f"Invalid value for parameter {key!r}: {v!r}.")
                fits = False
                break
        for key, values in option.items():
            if key not in value and "" not in values:
                result = _bad("value_error:dict_key", f"Missing dict key parameter: {key!r}.")
                fits = False
                break
        if fits:
            return _ok()
    return result


def _list_of_dicts_check(param: str, value: list, allowed: list) -> Verdict:
    result = {"valid": False, "error": [], "error_type": "list_dict_checker:unclear"}
    for option in allowed:  # the dicts in order, as in one of the allowed lists
        if len(value) != len(option):
            result = _bad("value_error:list_dict_count", "Wrong number of dictionaries in the list.")
            continue
        fits = True
        for got, want in zip(value, option, strict=True):
            result = _dict_check(param, got, [want])
            if not result["valid"]:
                fits = False
                break
        if fits:
            return _ok()
    return result


def check_call(function: dict, call: dict, answer: dict) -> Verdict:
    """One call `{name: params}` against one function description and its allowed answer `{name: {param: [...]}}`."""
    allowed = next(iter(answer.values()))
    name = model_name(function["name"])
    properties = function["parameters"]["properties"]
    if name not in call:
        return _bad(
            "simple_function_checker:wrong_func_name", f"Function name {name!r} not found in model output."
        )
    params = call[name]
    for param in function["parameters"]["required"]:
        if param not in params:
            return _bad("simple_function_checker:missing_required", f"Missing required parameter: {param!r}.")
    for param, value in params.items():
        if param not in properties or param not in allowed:
            return _bad("simple_function_checker:unexpected_param", f"Unexpected parameter: {param!r}.")
        declared = properties[param]["type"]
        expected = PYTHON_TYPES[declared]
        nested = PYTHON_TYPES[properties[param]["items"]["type"]] if declared in NESTED else None
        if declared == "tuple" and type(value) is tuple:
            value = list(value)
        if declared == "float" and type(value) is int:
            value = float(value)  # an int is fine where a float is asked for
        typed = _type_check(param, value, allowed[param], declared, expected, nested)
        if not typed["valid"]:
            return typed
        if not typed["is_variable"]:
            check = None
            if expected is dict:
                check = _dict_check
            elif expected is list and nested is dict:
                check = _list_of_dicts_check
            elif expected is str:
                check = _string_check
            elif expected is list:
                check = _list_check
            if check is not None:
                verdict = check(param, value, allowed[param])
                if not verdict["valid"]:
                    return verdict
                continue
        if value not in allowed[param]:
            return _bad("value_error:others", f"Invalid value for parameter {param!r}: {value!r}.")
    for param in allowed:
        if param not in params and "" not in allowed[param]:
            return _bad(
                "simple_function_checker:missing_optional", f"Optional parameter {param!r} not provided."
            )
    return _ok()


def _description(functions: list[dict], name: str) -> dict | None:
    return next((f for f in functions if f["name"] == name), None)


def check_calls(category: str, functions: list[dict], calls: list[dict], ground_truth: list[dict]) -> Verdict:
    """A whole answer of a non-irrelevance category (BFCL's `ast_checker`)."""
    if "parallel" in category:
        if len(calls) != len(ground_truth):
            return _bad("parallel_function_checker_no_order:wrong_count", "Wrong number of functions.")
        matched: set[int] = set()
        for k, answer in enumerate(
            ground_truth
        ):  # greedy: the first unmatched call that fits takes the answer
            function = _description(functions, next(iter(answer)))
            verdict: Verdict = {"valid": False}
            for index, call in enumerate(calls):
                if index in matched:
                    continue
                verdict = check_call(function, call, answer)
                if verdict["valid"]:
                    matched.add(index)
                    break
            if not verdict["valid"]:
                return _bad("parallel_function_checker_no_order:cannot_find_match",
                            f"Could not find a matching function for index {k} of possible answers.")  # fmt: skip
        return _ok()
    if "multiple" in category:
        if len(calls) != len(ground_truth):
            return _bad("multiple_function_checker:wrong_count", "Wrong number of functions.")
        return check_call(_description(functions, next(iter(ground_truth[0]))), calls[0], ground_truth[0])
    if len(calls) != 1:
        return _bad("simple_function_checker:wrong_count", "Wrong number of functions.")
    return check_call(functions[0], calls[0], ground_truth[0])


def well_formed(calls: Any) -> bool:
    """BFCL's output format: a list of `{name: {params}}`, one key each (an empty list is well-formed)."""
    return type(calls) is list and all(
        type(c) is dict and len(c) == 1 and type(next(iter(c.values()))) is dict for c in calls
    )


def has_call(calls: Any) -> bool:
    """BFCL's relevance test: a decodable, non-empty call list (`[]`, `[{}]` and malformed output are none)."""
    if not well_formed(calls) or not calls:
        return False
    return not (len(calls) == 1 and not calls[0])


def check(category: str, functions: list[dict], calls: Any, ground_truth: list[dict]) -> Verdict:
    """BFCL's verdict for one entry: irrelevance categories need no call; the others the AST rules above."""
    if category.endswith("irrelevance"):
        if has_call(calls):
            return _bad(
                "irrelevance_error:decoder_success", "Valid syntax: a function call where none was due."
            )
        return _ok()
    if not well_formed(calls):
        return _bad("ast_decoder:decoder_wrong_output_format", "Did not output in the specified format.")
    return check_calls(category, functions, calls, ground_truth)
