"""Open a OneRoster CSV set (zip or folder) and stream its rows.

Rows are read one at a time (bounded memory). Encoding is decided per file from its
first bytes: UTF-8 with or without BOM; CP932 only when the caller allows it — otherwise
the first line that is not UTF-8 is reported, with a hint when it reads as CP932.
"""

from __future__ import annotations

import codecs
import csv
import zipfile
from collections.abc import Callable, Iterator
from operator import itemgetter
from pathlib import Path
from typing import IO

from app.domain.roster.problems import Problems
from app.domain.roster.spec import LIMITS, FileSpec, Limits, canonical_columns

Advance = Callable[[int], None]


def _no_progress(_bytes: int) -> None:
    return None


class TooLarge(ValueError):
    """The zip is beyond one of the roster limits (`code` names which)."""

    def __init__(self, code: str, limit: int, found: int) -> None:
        super().__init__(code)
        self.code, self.limit, self.found = code, limit, found


class RosterSource:
    """A zip file or a folder; files are found by name, case-insensitively, at any depth."""

    def __init__(self, path: Path, limits: Limits = LIMITS) -> None:
        self.path = path
        self.limits = limits
        self._zip: zipfile.ZipFile | None = None
        self._names: dict[str, str] = {}
        if path.is_dir():
            for item in path.rglob("*.csv"):
                self._names.setdefault(item.name.lower(), str(item))
        elif zipfile.is_zipfile(path):
            self._zip = zipfile.ZipFile(path)
            members = [info for info in self._zip.infolist() if not info.is_dir()]
            if len(members) > limits.members:
                self.close()
                raise TooLarge("too_many_members", limits.members, len(members))
            # Reading never yields more than the declared sizes (zipfile stops there).
            total = sum(info.file_size for info in members)
            if total > limits.uncompressed_bytes:
                self.close()
                raise TooLarge("too_large_uncompressed", limits.uncompressed_bytes, total)
            for info in members:
                name = Path(info.filename)
                # macOS adds "__MACOSX/._users.csv" resource forks to zips it makes
                if "__MACOSX" not in name.parts and not name.name.startswith("._"):
                    self._names.setdefault(name.name.lower(), info.filename)
        else:
            raise ValueError("not a roster")

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()

    def __enter__(self) -> RosterSource:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def has(self, filename: str) -> bool:
        return filename.lower() in self._names

    def size(self, filename: str) -> int:
        name = self._names.get(filename.lower())
        if name is None:
            return 0
        if self._zip is not None:
            return self._zip.getinfo(name).file_size
        return Path(name).stat().st_size

    def open(self, filename: str) -> IO[bytes]:
        name = self._names[filename.lower()]
        if self._zip is not None:
            return self._zip.open(name)
        return Path(name).open("rb")


class CsvReader:
    """Streams one CSV file as (line number, {column: value}) for the columns in `spec`."""

    def __init__(
        self,
        source: RosterSource,
        spec: FileSpec,
        problems: Problems,
        *,
        allow_cp932: bool = False,
        advance: Advance = _no_progress,
        report_header: bool = True,
    ) -> None:
        self.source = source
        self.spec = spec
        self.problems = problems
        self.allow_cp932 = allow_cp932
        self.advance = advance
        self.report_header = report_header
        self.header_ok = True
        self.stopped = False  # reading ended early on a line that could not be decoded
        self.encoding = "utf-8"

    def lines(self, stream: IO[bytes]) -> Iterator[str]:
        """Decode line by line. UTF-8 (a BOM is dropped) unless the first line that is not
        UTF-8 comes before any non-ASCII UTF-8 and CP932 is allowed: then the file is CP932."""
        codec = "utf-8"
        seen_non_ascii = False
        pending = 0
        limit = self.source.limits.line_bytes
        number = 0
        while raw := stream.readline(limit + 1):
            number += 1
            if len(raw) > limit and not raw.endswith(b"\n"):
                self.stopped = True
                self.problems.add(self.spec.name, number, "", "line_too_long", limit=limit)
                return
            pending += len(raw)
            if pending >= 1 << 20:
                self.advance(pending)
                pending = 0
            if number == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8) :]
                seen_non_ascii = True  # a BOM says UTF-8
            try:
                text = raw.decode(codec)
            except UnicodeDecodeError:
                if codec == "utf-8" and self.allow_cp932 and not seen_non_ascii:
                    codec = self.encoding = "cp932"
                    try:
                        text = raw.decode(codec)
                    except UnicodeDecodeError:
                        self._encoding_problem(raw, number)
                        return
                else:
                    self._encoding_problem(raw, number)
                    return
            if not seen_non_ascii and not raw.isascii():
                seen_non_ascii = True
            yield text
        self.advance(pending)

    def _encoding_problem(self, raw: bytes, number: int) -> None:
        self.stopped = True
        if self.encoding != "cp932":
            try:
                raw.decode("cp932")
            except UnicodeDecodeError:
                pass
            else:
                self.problems.add(self.spec.name, number, "", "cp932")
                return
        label = "Shift_JIS (CP932)" if self.encoding == "cp932" else "UTF-8"
        self.problems.add(self.spec.name, number, "", "bad_encoding", encoding=label)

    def rows(self) -> Iterator[tuple[int, dict[str, str]]]:
        wanted = canonical_columns(self.spec)
        with self.source.open(self.spec.name) as raw_stream:
            reader = csv.reader(self.lines(raw_stream))
            header = next(reader, None)
            if header is None:
                self._missing_columns(set())
                return
            if not self._missing_columns({name.strip().lower() for name in header}):
                return
            positions: dict[str, int] = {}
            for index, name in enumerate(header):
                canonical = wanted.get(name.strip().lower())
                if canonical is not None and canonical not in positions:
                    positions[canonical] = index
            names = list(positions)
            indexes = list(positions.values())
            # itemgetter returns a bare value for one index; keep it a tuple
            pick = itemgetter(*indexes) if len(indexes) > 1 else (lambda record: (record[indexes[0]],))
            width = len(header)
            line = reader.line_num
            for record in reader:
                start, line = line + 1, reader.line_num
                if not record or (len(record) == 1 and not record[0].strip()):
                    continue
                if len(record) != width:
                    self.problems.add(self.spec.name, start, "", "bad_row", found=len(record), expected=width)
                    continue
                yield start, dict(zip(names, map(str.strip, pick(record)), strict=True))

    def _missing_columns(self, present: set[str]) -> bool:
        """Every column of the binding in the header (`present`: lower-cased names)?"""
        missing = [name for name in self.spec.header_columns() if name.lower() not in present]
        if missing:
            self.header_ok = False
            if self.report_header:
                for name in missing:
                    self.problems.add(self.spec.name, 1, name, "missing_column")
        return not missing
