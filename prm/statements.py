"""Hot reads whose SQL the ORM builds once per shape and process, not on every request.

Building a queryset through a policy's scope and compiling it costs 0.5-1.2 ms of Python a
statement (filters, annotations, joins, the compiler), where sending the finished SQL costs a few
hundredths of that: on the partner pages, two to four such statements were a third of a request's
CPU (issue 11, bench/README.md). A ``Statement`` keeps what the ORM built and sends it again with
the values of the next call, as ``prm.auth_backends`` does for the user row.

How it stays the ORM's statement, exactly:

* The read is written once, as an ordinary queryset built by ``build(actor, **arguments)`` through
  the same policies and selectors (the one scoping path), ending in ``values_list(...)``.
* The first call of a *shape* builds it twice with a probe actor and probe values: numbers, dates
  and strings no real row holds, different in each build. The actor's user and partner are probes
  that answer ``pk`` and nothing else; its extra data and any other attribute read are refused.
  Each parameter of the two compiled statements must be either the probe of an argument in both
  builds (a slot, filled from the next call's value) or the same constant in both (a status, a
  flag); the SQL must be identical. Anything else (a value derived from an argument, the clock
  read inside the builder, an attribute of the user) and the shape is never compiled: each call
  then builds the queryset with the real values, as before.
* A shape is what changes the SQL and not only its values: the actor's side and roles, whether it
  has a user / partner, its portfolio's length, the arguments the caller names as shape (filters
  present or not), and the length of each list argument.
* A constant that is a string, a whole number or a flag is written into the SQL as a literal
  (:func:`_inlined`), the call's values stay parameters. PostgreSQL keeps one plan for a statement
  prepared on a connection only where that plan, made without the parameters' values, is not
  estimated costlier than the plans made for them: with a queue's ``status = $7`` it could not
  know the status was the rare ``'submitted'`` and estimated 25 times the rows, so it planned such
  a statement again on every request (0.5-0.75 ms each time on the vendor lists' first statement).
* With ``PRM["VERIFY_STATEMENTS"]`` on (the test settings), every call also builds the queryset
  with the real actor and values and fails if its SQL or parameters differ from the kept one's: the
  whole suite checks the kept statements against the ORM on every page it renders.

The rows are the ORM's ``values_list`` rows (its converters applied). Row-level security applies as
to any statement: the SQL runs in the request's transaction, under its scope.
"""

from __future__ import annotations

import re
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import QuerySet
from django.db.models.query import ValuesListIterable

from .tenancy import Actor

# How many shapes one statement keeps per connection (a list argument's length is part of the
# shape: a page of 1-50 keys is at most 50 shapes).
SHAPES_KEPT = 256


class _ProbeEscape(Exception):
    """A probe was asked for something other than its key."""


_escapes = threading.local()

# Names Django's query building asks any value for, to tell a model or an expression apart.
_FEATURE_CHECKS = frozenset({"resolve_expression", "as_sql", "get_compiler", "get_source_expressions"})


class _ProbeObject(int):
    """A stand-in for the actor's user or partner: its key is the probe value, any other attribute
    is refused (recorded, so the shape is not compiled), since it would be baked into the SQL."""

    @property
    def pk(self) -> int:
        return int(self)

    @property
    def id(self) -> int:
        return int(self)

    is_authenticated = True

    def __getattr__(self, name: str) -> Any:
        if not name.startswith("_") and name not in _FEATURE_CHECKS:
            _escapes.names = (*getattr(_escapes, "names", ()), name)
        raise AttributeError(name)


class _RefusedDict(dict):
    """The probe actor's ``extra``: a builder that reads it cannot be compiled."""

    def __getitem__(self, key: Any) -> Any:
        _escapes.names = (*getattr(_escapes, "names", ()), f"extra[{key!r}]")
        raise KeyError(key)

    def get(self, key: Any, default: Any = None) -> Any:
        return self[key]

    def __contains__(self, key: object) -> bool:
        _escapes.names = (*getattr(_escapes, "names", ()), f"extra[{key!r}]")
        return False


class _Probes:
    """The probe values of one build: every value distinct from every other build's and from any
    real row's (ids far below zero, dates in 1901, strings with control characters)."""

    def __init__(self, build: int) -> None:
        self.build = build
        self.made: list[Any] = []

    def value(self, kind: Any) -> Any:
        n = len(self.made) + 1
        if isinstance(kind, bool) or kind is None:
            raise TypeError("a bool or None is a shape, not a value")
        if isinstance(kind, int):
            made: Any = -(9_000_000_000_000_000 + self.build * 1_000_000_000 + n)
        elif isinstance(kind, datetime):
            made = datetime(1901, 1, 1, tzinfo=UTC) + timedelta(days=self.build, microseconds=n)
        elif isinstance(kind, date):
            made = date(1901, 1, 1) + timedelta(days=self.build * 1000 + n)
        elif isinstance(kind, Decimal):
            made = Decimal(-(9_000_000_000 + self.build * 100_000 + n)) / 1000
        elif isinstance(kind, str):
            made = f"\x1fprm-probe-{self.build}-{n}\x1f"
        else:
            raise TypeError(f"no probe for {type(kind).__name__}")
        self.made.append(made)
        return made

    def values(self, argument: Any) -> Any:
        if isinstance(argument, list | tuple):
            return type(argument)(self.value(item) for item in argument)
        return self.value(argument)

    def actor(self, actor: Actor) -> Actor:
        user = None if actor.user is None else _ProbeObject(self.value(0))
        partner = None if actor.partner is None else _ProbeObject(self.value(0))
        portfolio = None if actor.portfolio is None else tuple(self.value(0) for _ in actor.portfolio)
        return replace(actor, user=user, partner=partner, portfolio=portfolio, extra=_RefusedDict())


def _actor_values(actor: Actor) -> list[Any]:
    """The real values the probe actor's probes stand for, in the order _Probes.actor made them."""
    values: list[Any] = []
    if actor.user is not None:
        values.append(actor.user.pk)
    if actor.partner is not None:
        values.append(actor.partner.pk)
    if actor.portfolio is not None:
        values.extend(actor.portfolio)
    return values


# What a scope's entry and exit send (prm.tenancy.tenant_scope: a savepoint, the scope's settings);
# no data is read by them. The tests' own scoping of calls made from test code sends them too.
_SCOPE_STATEMENTS = re.compile(
    r"^(SAVEPOINT|RELEASE SAVEPOINT|ROLLBACK TO SAVEPOINT"
    r"|SELECT set_config\(|SELECT coalesce\(current_setting\()"
)


def _no_statements_while_probing(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
    if _SCOPE_STATEMENTS.match(sql):
        return execute(sql, params, many, context)
    raise _ProbeEscape("the builder sent a statement")


def _is_shape(value: Any) -> bool:
    """Whether a value argument is part of the shape rather than probed: None, a bool, or an empty
    string / zero (a builder may test a value's truth, ``if status:``, and a probe is never false).
    A list is always probed (its length is part of the shape)."""
    if isinstance(value, list | tuple):
        return False
    return value is None or isinstance(value, bool) or not value


def _flat(arguments: Sequence[Any]) -> list[Any]:
    flat: list[Any] = []
    for argument in arguments:
        flat.extend(argument) if isinstance(argument, list | tuple) else flat.append(argument)
    return flat


@dataclass(frozen=True)
class _Compiled:
    sql: str | None  # None: the statement can match no row (EmptyResultSet); no round trip
    # Per parameter: the index of the call's value that fills it, the indexes of those that fill
    # a list sent as one parameter (in order), or None for a constant.
    slots: tuple[int | tuple[int, ...] | None, ...]
    # Per parameter: the constant (a slot's: None), or for a list slot the list's type (its
    # items are put in one of the same kind: prm.lookups.Ids writes itself as one array).
    constants: tuple[Any, ...]
    converters: tuple[tuple[int, Sequence[Callable[..., Any]], Any], ...]
    # The columns the rows keep: the select may carry more (extra select for the ordering).
    width: int | None
    # The positions, among the ORM's parameters, of the constants written into ``sql`` as literals.
    inlined: tuple[int, ...] = ()


_NOT_COMPILABLE = object()


@dataclass(frozen=True)
class Prepared:
    """A call's statement, unsent (Statement.prepare): ``sql`` (None: it can match no row) with
    ``params``, and ``convert(rows)``, which turns the rows it gives into Statement.rows'."""

    sql: str | None
    params: tuple
    convert: Callable[[list[tuple]], list[tuple]]


def _converted(compiled: _Compiled, fetched: list[tuple], connection: BaseDatabaseWrapper) -> list[tuple]:
    """The rows as the ORM's values_list gives them: the kept columns, its converters applied."""
    if compiled.width is not None:
        fetched = [row[: compiled.width] for row in fetched]
    if compiled.converters:
        converted = []
        for row in fetched:
            row = list(row)
            for index, functions, expression in compiled.converters:
                value = row[index]
                for function in functions:
                    value = function(value, expression, connection)
                row[index] = value
            converted.append(tuple(row))
        fetched = converted
    return fetched


def _compile(queryset: QuerySet, connection: BaseDatabaseWrapper) -> tuple[str | None, tuple, Any]:
    compiler = queryset.query.get_compiler(connection=connection)
    try:
        sql, params = compiler.as_sql()
    except EmptyResultSet:
        return None, (), compiler
    return sql, tuple(params), compiler


class Statement:
    """A read built by ``build(actor, **arguments)`` (a ``values_list`` queryset), compiled once
    per shape; ``rows(actor, **arguments)`` returns its rows.

    ``values``: the names of the arguments that are values of the SQL (ids, a list of keys, a
    moment): probed, then filled in. Every other argument is part of the shape (it may change the
    SQL) and must be hashable.
    """

    def __init__(
        self, name: str, build: Callable[..., QuerySet], *, values: Sequence[str] = (), count: bool = False
    ) -> None:
        self.name = name
        self.build = build
        self.value_names = tuple(values)
        # A count of the built rows (``count()``): the statement is the built one's rows counted.
        self.counts = count
        self._kept: weakref.WeakKeyDictionary[BaseDatabaseWrapper, OrderedDict[Hashable, Any]] = (
            weakref.WeakKeyDictionary()
        )

    def __repr__(self) -> str:
        return f"<Statement {self.name}>"

    def _as_sets(self, arguments: dict[str, Any]) -> dict[str, Any]:
        # A list of values is a set, as the ORM's IN makes it: repeated items dropped.
        return {
            name: list(dict.fromkeys(value))
            if name in self.value_names and isinstance(value, list | tuple)
            else value
            for name, value in arguments.items()
        }

    # --- the shape ---------------------------------------------------------------------------
    def _shape(self, actor: Actor, arguments: dict[str, Any]) -> Hashable:
        values = []
        for name in self.value_names:
            value = arguments[name]
            if _is_shape(value):
                values.append((name, type(value).__name__, value))
            elif isinstance(value, list | tuple):
                values.append(
                    (name, type(value).__name__, len(value), type(value[0]).__name__ if value else "")
                )
            else:
                values.append((name, type(value).__name__))
        return (
            actor.side,
            actor.vendor_role,
            actor.partner_role,
            actor.user is None,
            actor.partner is None,
            None if actor.portfolio is None else len(actor.portfolio),
            tuple(values),
            tuple(sorted((name, value) for name, value in arguments.items() if name not in self.value_names)),
        )

    # --- compiling ---------------------------------------------------------------------------
    def _probe_build(
        self, actor: Actor, arguments: dict[str, Any], build_number: int, connection: Any
    ) -> Any:
        probes = _Probes(build_number)
        probe_actor = probes.actor(actor)
        probed = dict(arguments)
        for name in self.value_names:
            value = arguments[name]
            if not _is_shape(value):
                probed[name] = probes.values(value)
        _escapes.names = ()
        try:
            # A builder that reads the database (candidate ids, say) would read it for the probes
            # and bake what it found (nothing) into the statement: refused.
            with connection.execute_wrapper(_no_statements_while_probing):
                queryset = _values_list(self.build(probe_actor, **probed))
                sql, params, compiler = _compile(queryset, connection)
        finally:
            escaped, _escapes.names = _escapes.names, ()
        if escaped:
            raise _ProbeEscape(", ".join(escaped))
        return queryset, sql, params, compiler, probes.made

    def _compile_shape(self, actor: Actor, arguments: dict[str, Any], connection: Any) -> Any:
        try:
            _queryset, sql, params, compiler, made = self._probe_build(actor, arguments, 1, connection)
            _q2, sql2, params2, _c2, made2 = self._probe_build(actor, arguments, 2, connection)
        except (_ProbeEscape, TypeError, ValueError, AttributeError):
            return _NOT_COMPILABLE
        if sql != sql2 or len(params) != len(params2) or len(made) != len(made2):
            return _NOT_COMPILABLE
        if sql is None:
            return _Compiled(None, (), (), (), None)
        position = {_key(value): index for index, value in enumerate(made)}
        position2 = {_key(value): index for index, value in enumerate(made2)}
        probe_texts = [value for value in (*made, *made2) if isinstance(value, str)]
        slots: list[int | tuple[int, ...] | None] = []
        constants: list[Any] = []
        for first, second in zip(params, params2, strict=True):
            if isinstance(first, list | tuple) or isinstance(second, list | tuple):
                # A list sent as one parameter (prm.lookups.InIds: a portfolio's ids): a slot of
                # its own for each item, each a probe of the same argument in both builds.
                indexes = _list_slot(first, second, position, position2)
                if indexes is None:
                    return _NOT_COMPILABLE
                slots.append(indexes)
                constants.append(type(first))  # rebuilt as the same kind (prm.lookups.Ids)
                continue
            index = position.get(_key(first))
            if index is not None and position2.get(_key(second)) == index:
                slots.append(index)
                constants.append(None)
            elif (
                _key(first) == _key(second) and _key(first) not in position and _key(second) not in position2
            ):
                if isinstance(first, str) and any(text in first for text in probe_texts):
                    return _NOT_COMPILABLE  # a value built from a probe (a LIKE pattern, say)
                slots.append(None)
                constants.append(first)
            else:
                return _NOT_COMPILABLE
        inlined = tuple(
            index
            for index, (slot, constant) in enumerate(zip(slots, constants, strict=True))
            if slot is None and _literal(constant) is not None
        )
        sql = _inlined(sql, params, inlined)[0]
        written_in = set(inlined)
        left = [index for index in range(len(slots)) if index not in written_in]
        slots = [slots[index] for index in left]
        constants = [constants[index] for index in left]
        columns = [column for column, _sql, _alias in compiler.select[: compiler.col_count]]
        converters = tuple(
            (index, functions, expression)
            for index, (functions, expression) in compiler.get_converters(columns).items()
        )
        width = compiler.col_count if compiler.has_extra_select else None
        if self.counts:
            return _Compiled(self._counted(sql), tuple(slots), tuple(constants), (), None, inlined)
        return _Compiled(sql, tuple(slots), tuple(constants), converters, width, inlined)

    @staticmethod
    def _counted(sql: str) -> str:
        return f"SELECT COUNT(*) FROM ({sql}) counted"  # noqa: S608 -- the ORM's SQL, values apart

    def is_kept(self, actor: Actor, **arguments: Any) -> bool:
        """Whether this process keeps a compiled statement for this call's shape (False: not seen
        yet, or not compilable: each such call builds the queryset)."""
        compiled = self._kept.get(connections["default"], {}).get(
            self._shape(actor, self._as_sets(arguments))
        )
        return isinstance(compiled, _Compiled)

    def kept_shapes(self) -> int:
        """How many shapes this process keeps a statement (or a refusal) for, on this thread."""
        return len(self._kept.get(connections["default"], ()))

    # --- running -----------------------------------------------------------------------------
    def count(self, actor: Actor, **arguments: Any) -> int:
        """The number of rows (a Statement made with ``count=True``)."""
        return int(self.rows(actor, **arguments)[0][0])

    def rows(self, actor: Actor, **arguments: Any) -> list[tuple]:
        connection = connections["default"]
        arguments = self._as_sets(arguments)
        compiled, params = self._call(actor, arguments, connection)
        if compiled is _NOT_COMPILABLE:
            built = _values_list(self.build(actor, **arguments))
            return [(built.count(),)] if self.counts else list(built)
        if compiled.sql is None:
            return [(0,)] if self.counts else []
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            fetched = cursor.fetchall()
        return _converted(compiled, fetched, connection)

    def prepare(self, actor: Actor, **arguments: Any) -> Prepared:
        """This call's SQL and parameters, unsent, for a caller that sends it inside a statement of
        its own (two reads of one page in one round trip), and how to turn the rows it gives into
        what :meth:`rows` returns. The SQL is the kept statement's (verified as :meth:`rows`
        verifies it), or for a shape that cannot be kept the ORM's for this call; None where it can
        match no row."""
        connection = connections["default"]
        arguments = self._as_sets(arguments)
        compiled, params = self._call(actor, arguments, connection)
        if compiled is _NOT_COMPILABLE:
            sql, params, compiler = _compile(_values_list(self.build(actor, **arguments)), connection)
            if sql is not None and self.counts:
                sql = self._counted(sql)
            compiled = self._unkept(sql, compiler)
        return Prepared(
            compiled.sql, tuple(params), lambda fetched: _converted(compiled, fetched, connection)
        )

    def _unkept(self, sql: str | None, compiler: Any) -> _Compiled:
        if sql is None or self.counts:
            return _Compiled(sql, (), (), (), None)
        columns = [column for column, _sql, _alias in compiler.select[: compiler.col_count]]
        converters = tuple(
            (index, functions, expression)
            for index, (functions, expression) in compiler.get_converters(columns).items()
        )
        return _Compiled(sql, (), (), converters, compiler.col_count if compiler.has_extra_select else None)

    def _call(self, actor: Actor, arguments: dict[str, Any], connection: Any) -> tuple[Any, tuple]:
        """The compiled statement of this call's shape (compiled now if new; _NOT_COMPILABLE for a
        shape that cannot be kept) and its parameters for this call."""
        kept = self._kept.get(connection)
        if kept is None:
            kept = self._kept.setdefault(connection, OrderedDict())
        shape = self._shape(actor, arguments)
        compiled = kept.get(shape)
        if compiled is None:
            compiled = self._compile_shape(actor, arguments, connection)
            kept[shape] = compiled
            if len(kept) > SHAPES_KEPT:
                kept.popitem(last=False)
        if compiled is _NOT_COMPILABLE:
            return compiled, ()
        values = [
            *_actor_values(actor),
            *_flat([arguments[name] for name in self.value_names if not _is_shape(arguments[name])]),
        ]
        params = tuple(
            constant
            if slot is None
            else values[slot]
            if isinstance(slot, int)
            else constant([values[index] for index in slot])
            for slot, constant in zip(compiled.slots, compiled.constants, strict=True)
        )
        if settings.PRM.get("VERIFY_STATEMENTS"):
            self._verify(compiled, params, actor, arguments, connection)
        return compiled, params

    def scalar_sql(self, actor: Actor, **arguments: Any) -> tuple[str, tuple] | None:
        """The kept statement of a ``count=True`` Statement with this call's parameters, for a
        caller that sends it inside a statement of its own (``prm.tenancy.tenant_scope``'s
        ``along``): one row, one column, as :meth:`count` reads it. None when the shape cannot
        be kept or can match no row (the caller then asks :meth:`count`)."""
        if not self.counts:
            raise TypeError(f"{self.name}: scalar_sql is for a count=True Statement")
        connection = connections["default"]
        compiled, params = self._call(actor, self._as_sets(arguments), connection)
        if compiled is _NOT_COMPILABLE or compiled.sql is None:
            return None
        return compiled.sql, params

    def _verify(
        self, compiled: _Compiled, params: tuple, actor: Actor, arguments: dict[str, Any], connection: Any
    ) -> None:
        """The kept statement with this call's values must be the one the ORM builds for it."""
        sql, expected, _compiler = _compile(_values_list(self.build(actor, **arguments)), connection)
        if sql is not None and compiled.inlined:
            sql, expected = _inlined(sql, expected, compiled.inlined)
        if sql is not None and self.counts:
            sql = self._counted(sql)
        if sql != compiled.sql or [_key(value) for value in expected] != [_key(value) for value in params]:
            raise AssertionError(
                f"{self.name}: the kept statement differs from the ORM's for this call\n"
                f"kept: {compiled.sql} {params!r}\nORM:  {sql} {expected!r}"
            )


# A parameter placeholder of the ORM's SQL, or a percent sign written as ``%%``.
_PLACEHOLDER = re.compile(r"%[s%]")


def _literal(value: Any) -> str | None:
    """``value`` as an SQL literal that reads as the parameter did, written for the SQL as the ORM
    sends it (a percent sign doubled); None for a kind left a parameter. A string is an untyped
    literal, as psycopg sends a string (type unknown: PostgreSQL takes it as the column's type),
    quoted as standard SQL quotes it (standard_conforming_strings, on since PostgreSQL 9.1)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, str) and "\x00" not in value:
        return "'" + value.replace("'", "''").replace("%", "%%") + "'"
    return None


def _inlined(sql: str, params: Sequence[Any], positions: tuple[int, ...]) -> tuple[str, tuple]:
    """``sql`` with the parameters at ``positions`` written in as literals, and the others."""
    if not positions:
        return sql, tuple(params)
    wanted = set(positions)
    index = -1
    kept: list[Any] = []

    def replace_one(match: re.Match[str]) -> str:
        nonlocal index
        if match[0] == "%%":
            return "%%"
        index += 1
        if index in wanted:
            literal = _literal(params[index])
            if literal is None:
                raise ValueError(f"no literal for parameter {index}: {params[index]!r}")
            return literal
        kept.append(params[index])
        return "%s"

    written = _PLACEHOLDER.sub(replace_one, sql)
    if index + 1 != len(params):
        raise ValueError(f"{index + 1} placeholders for {len(params)} parameters")
    return written, tuple(kept)


def _list_slot(
    first: Any, second: Any, position: dict[Any, int], position2: dict[Any, int]
) -> tuple[int, ...] | None:
    """The slots of a list parameter: each item of the first build's list a probe, the same
    probe as the second build's item at its place; None otherwise (a list of constants, or of
    values derived from the probes: not a statement to keep)."""
    if not (isinstance(first, list | tuple) and isinstance(second, list | tuple)):
        return None
    if len(first) != len(second):
        return None
    indexes = []
    for one, other in zip(first, second, strict=True):
        index = position.get(_key(one))
        if index is None or position2.get(_key(other)) != index:
            return None
        indexes.append(index)
    return tuple(indexes)


def _values_list(queryset: QuerySet) -> QuerySet:
    """The built queryset, which must yield the rows as tuples (what the kept statement returns)."""
    if queryset._iterable_class is not ValuesListIterable:
        raise TypeError(f"a Statement's build must end in values_list() (not flat or named): {queryset!r}")
    return queryset


def _key(value: Any) -> Any:
    """A parameter as compared: its type too (1 and True, 1 and 1.0 are different values to SQL);
    a probe object is compared as the number it is."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = int(value)
    try:
        hash(value)
    except TypeError:
        return (type(value), repr(value))
    return (type(value), value)
