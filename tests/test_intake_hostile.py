"""Hostile and broken input files (issue 11): each ends in a problem naming the file, never a traceback,
a hang, a huge allocation or a file read outside the data folder.

Every hostile file is built in ``tmp_path`` by the test itself; the expected messages are the
intake's own texts (pinned here so that a change is seen).
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook

from evaluation.cli import main

HEADER = "indicateur;année;valeur\n"


def make_data(tmp_path: Path, yaml_text: str = "name: test\ndemo: true\nprovenance: tests\n") -> Path:
    root = tmp_path / "data"
    for folder in ("monitoring", "spending"):
        (root / folder).mkdir(parents=True)
    (root / "dataset.yaml").write_text(yaml_text, encoding="utf-8")
    return root


def validate(root: Path, capsys) -> tuple[int, list[str]]:
    """Exit status of ``evaluation validate --data root`` and its problem lines (paths from ``data/``)."""
    status = main(["validate", "--data", str(root)])
    out = capsys.readouterr()
    text = out.out + out.err
    assert "Traceback" not in text
    return status, [line.split("/data/", 1)[-1].strip() for line in text.splitlines() if "/data/" in line]


def test_xlsx_with_an_empty_year_cell_is_a_problem(tmp_path, capsys):
    """A blank year cell, and a formula without a cached value (openpyxl reads None for both)."""
    root = make_data(tmp_path)
    book = Workbook()
    sheet = book.active
    sheet.append(["indicateur", "année", "valeur"])
    sheet.append(["1.1", None, 5])
    sheet.append(["1.1", "=A1+1", 6])  # a formula saved by openpyxl has no cached value
    book.save(root / "monitoring" / "m.xlsx")
    book = Workbook()
    book.active.append(["fiche", "année", "montant"])
    book.active.append(["1a", None, 100])
    book.save(root / "spending" / "s.xlsx")
    status, lines = validate(root, capsys)
    assert status == 1
    assert "monitoring/m.xlsx, line 2, column 'year': is not a year (write the year with 4 digits, e.g. 2019)" in lines
    assert "monitoring/m.xlsx, line 3, column 'year': is not a year (write the year with 4 digits, e.g. 2019)" in lines
    assert "spending/s.xlsx, line 2, column 'year': is not a year (write the year with 4 digits, e.g. 2019)" in lines


def test_symlinked_file_and_folder_are_refused_and_not_read(tmp_path, capsys):
    """A link to a file outside the data folder (``/etc/passwd`` in the report of issue 11) is named,
    its target never read or shown; a linked input folder likewise."""
    secret = tmp_path / "secret.csv"
    secret.write_text("indicateur;année;valeur\nTOP-SECRET;2019;1\n", encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "s.csv").write_text("fiche;année;montant\nTOP-SECRET;2019;1\n", encoding="utf-8")
    root = make_data(tmp_path)
    (root / "monitoring" / "p.csv").symlink_to(secret)
    (root / "spending").rmdir()
    (root / "spending").symlink_to(elsewhere, target_is_directory=True)
    status, lines = validate(root, capsys)
    assert status == 2
    assert lines == [
        "monitoring/p.csv: is a symbolic link: links are not followed, the file it points to is not read"
        " (copy the file itself into the folder)",
        "spending: is a symbolic link: input folders are not followed, nothing in it is read"
        " (put a real folder with the files in its place)",
    ]
    assert "TOP-SECRET" not in capsys.readouterr().out


def test_a_link_swapped_in_after_listing_is_not_followed(tmp_path):
    """O_NOFOLLOW: a file replaced by a link between the listing and the opening is refused."""
    from evaluation.intake import MONITORING, read_raw

    target = tmp_path / "t.csv"
    target.write_text("indicateur;année;valeur\n1.1;2019;1\n", encoding="utf-8")
    link = tmp_path / "l.csv"
    link.symlink_to(target)
    table, problems = read_raw(link, MONITORING)
    assert table is None
    assert [p.message for p in problems] == ["is a symbolic link: links are not followed"]


def test_an_input_folder_that_is_a_file_is_a_problem(tmp_path, capsys):
    root = make_data(tmp_path)
    (root / "spending").rmdir()
    (root / "spending").write_text("fiche;année;montant\n1a;2019;10\n", encoding="utf-8")
    status, lines = validate(root, capsys)
    assert status == 2
    assert lines == [
        "spending: is a file, not a folder: no input is read from it"
        " (make 'spending' a folder and put the CSV or Excel files in it)"
    ]


BILLION_LAUGHS = "\n".join(
    ["name: test", "demo: true", "provenance: tests", 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"{c}: &{c} [{','.join(['*' + p] * 9)}]" for p, c in zip("abcdefgh", "bcdefghi", strict=True)]
)


def test_dataset_yaml_with_aliases_is_refused_at_once(tmp_path, capsys):
    """The 1 KB "billion laughs": 9**9 strings if expanded."""
    assert len(BILLION_LAUGHS) < 1024
    root = make_data(tmp_path, BILLION_LAUGHS)
    assert main(["validate", "--data", str(root)]) == 2
    err = capsys.readouterr().err
    assert "dataset.yaml, line 4: uses a YAML anchor or alias (& or *), which is not accepted" in err
    assert "(write each value in full)" in err


def test_dataset_yaml_over_64_kb_is_refused(tmp_path, capsys):
    root = make_data(tmp_path, "name: test\ndemo: true\nprovenance: tests\n" + "# padding\n" * 7000)
    assert main(["validate", "--data", str(root)]) == 2
    assert "dataset.yaml: is over 64 KB" in capsys.readouterr().err


def test_limits_in_dataset_yaml_are_checked(tmp_path, capsys):
    root = make_data(tmp_path, "name: test\ndemo: true\nprovenance: tests\nlimits:\n  max_lines: 3\n")
    assert main(["validate", "--data", str(root)]) == 2
    err = capsys.readouterr().err
    assert "dataset.yaml, field 'limits.max_lines': unknown limit" in err
    assert "max_file_mb, max_rows, max_columns, max_cell_chars" in err


def write_limits(root: Path, **limits: int) -> None:
    text = "".join(f"  {key}: {value}\n" for key, value in limits.items())
    (root / "dataset.yaml").write_text(f"name: test\ndemo: true\nprovenance: tests\nlimits:\n{text}", encoding="utf-8")


def test_file_over_the_size_limit_is_refused_before_reading(tmp_path, capsys):
    root = make_data(tmp_path)
    write_limits(root, max_file_mb=1)
    (root / "monitoring" / "big.csv").write_bytes(HEADER.encode() + b"1.1;2019;1\n" * 100_000)
    status, lines = validate(root, capsys)
    assert status == 2
    assert lines == [
        "monitoring/big.csv: is 1 MB, over the limit of 1 MB"
        " (split the file, or raise 'max_file_mb' under 'limits:' in dataset.yaml if the file is right)"
    ]


def test_rows_columns_and_cell_length_limits(tmp_path, capsys):
    root = make_data(tmp_path)
    write_limits(root, max_rows=5, max_columns=4, max_cell_chars=20)
    (root / "monitoring" / "rows.csv").write_text(HEADER + "1.1;2019;1\n" * 6, encoding="utf-8")
    (root / "monitoring" / "wide.csv").write_text(HEADER + "1.1;2019;1;;;x\n", encoding="utf-8")
    (root / "monitoring" / "long.csv").write_text(HEADER + f"1.1;2019;{'9' * 21}\n", encoding="utf-8")
    status, lines = validate(root, capsys)
    assert status == 2
    hint = " (split the file, or raise '{}' under 'limits:' in dataset.yaml if the file is right)"
    assert lines == [
        "monitoring/long.csv, line 2: has a cell of 21 characters, over the limit of 20"
        + hint.format("max_cell_chars"),
        "monitoring/rows.csv: has more than 5 lines" + hint.format("max_rows"),
        "monitoring/wide.csv, line 2: has more than 4 cells on this line" + hint.format("max_columns"),
    ]


def test_a_header_of_ten_million_separators_is_refused_in_seconds(tmp_path, capsys):
    import time

    root = make_data(tmp_path)
    (root / "monitoring" / "commas.csv").write_bytes(b"indicator_id,year,value" + b"," * 10_000_000 + b"\n")
    start = time.perf_counter()
    status, lines = validate(root, capsys)
    assert time.perf_counter() - start < 10
    assert status == 2
    assert lines == [
        "monitoring/commas.csv, line 1: has more than 200 cells on this line"
        " (split the file, or raise 'max_columns' under 'limits:' in dataset.yaml if the file is right)"
    ]


def _xlsx(path: Path, sheet_xml: bytes, shared: bytes | None = None) -> None:
    """A minimal workbook written by hand: openpyxl could not write the hostile sheets quickly."""
    import zipfile

    types = (
        b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        b'<Default Extension="xml" ContentType="application/xml"/>'
        b'<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        b'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        + (
            b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
            if shared is not None
            else b""
        )
        + b"</Types>"
    )
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    rels = (
        f'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    ).encode()
    workbook = (
        f'<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        f'xmlns:r="{rel}"><sheets><sheet name="Saisie" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ).encode()
    book_rels = (
        f'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
        + (f'<Relationship Id="rId2" Type="{rel}/sharedStrings" Target="sharedStrings.xml"/>' if shared else "")
        + "</Relationships>"
    ).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", types)
        archive.writestr("_rels/.rels", rels)
        archive.writestr("xl/workbook.xml", workbook)
        archive.writestr("xl/_rels/workbook.xml.rels", book_rels)
        archive.writestr("xl/worksheets/sheet1.xml", sheet_xml)
        if shared is not None:
            archive.writestr("xl/sharedStrings.xml", shared)


SHEET = b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
HEAD_ROW = (
    b'<row r="1"><c r="A1" t="inlineStr"><is><t>indicateur</t></is></c>'
    b'<c r="B1" t="inlineStr"><is><t>annee</t></is></c><c r="C1" t="inlineStr"><is><t>valeur</t></is></c></row>'
)


def test_xlsx_with_millions_of_rows_and_no_dimension_is_refused_in_seconds(tmp_path, capsys):
    import time

    root = make_data(tmp_path)
    rows = b"<row/>" * 2_000_000
    _xlsx(root / "monitoring" / "rows.xlsx", SHEET + HEAD_ROW + rows + b"</sheetData></worksheet>")
    assert (root / "monitoring" / "rows.xlsx").stat().st_size < 1_000_000
    start = time.perf_counter()
    status, lines = validate(root, capsys)
    assert time.perf_counter() - start < 10
    assert status == 2
    assert lines == [
        "monitoring/rows.xlsx: has more than 1000000 lines"
        " (split the file, or raise 'max_rows' under 'limits:' in dataset.yaml if the file is right)"
    ]


def test_xlsx_row_gaps_and_declared_dimension_obey_the_limits(tmp_path, capsys):
    """A row numbered far away (openpyxl fills the gap) and a dimension of 16 384 columns."""
    root = make_data(tmp_path)
    write_limits(root, max_rows=1000)
    far = b'<row r="900000"><c r="A900000"><v>1</v></c></row>'
    sheet = SHEET.replace(b"<sheetData>", b'<dimension ref="A1:XFD1048576"/><sheetData>')
    _xlsx(root / "monitoring" / "gap.xlsx", sheet + HEAD_ROW + far + b"</sheetData></worksheet>")
    status, lines = validate(root, capsys)
    assert status == 2
    assert lines == [
        "monitoring/gap.xlsx, line 1001: has more than 1000 lines"
        " (split the file, or raise 'max_rows' under 'limits:' in dataset.yaml if the file is right)"
    ]


def test_xlsx_zip_bomb_is_refused_from_the_declared_sizes(tmp_path, capsys):
    """A small workbook whose shared string unzips to 270 MB (1.5 GB in issue 11: the same refusal,
    slower to build), refused without inflating it."""
    import zipfile

    root = make_data(tmp_path)
    path = root / "monitoring" / "bomb.xlsx"
    # Written in pieces: the string itself is never held in memory.
    _xlsx(path, SHEET + HEAD_ROW + b"</sheetData></worksheet>")
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as stream:
            stream.write(
                b'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>'
            )
            chunk = b"A" * (1 << 24)
            for _ in range(16):
                stream.write(chunk)
            stream.write(b"</t></si></sst>")
    assert path.stat().st_size < 1_500_000
    status, lines = validate(root, capsys)
    assert status == 2
    assert lines == [
        "monitoring/bomb.xlsx: unzips to 268 MB, over the limit of 200 MB"
        " (split the file, or raise 'max_file_mb' under 'limits:' in dataset.yaml if the file is right)"
    ]


def test_xlsx_cell_over_the_length_limit(tmp_path, capsys):
    root = make_data(tmp_path)
    write_limits(root, max_cell_chars=50)
    cell = b'<row r="2"><c r="A2" t="inlineStr"><is><t>' + b"x" * 51 + b"</t></is></c></row>"
    _xlsx(root / "monitoring" / "long.xlsx", SHEET + HEAD_ROW + cell + b"</sheetData></worksheet>")
    status, lines = validate(root, capsys)
    assert status == 2
    assert lines == [
        "monitoring/long.xlsx, line 2: has a cell of 51 characters, over the limit of 50"
        " (split the file, or raise 'max_cell_chars' under 'limits:' in dataset.yaml if the file is right)"
    ]


def test_a_quote_never_closed_names_the_line_where_it_opens(tmp_path, capsys):
    """Lines 3 and 4 would otherwise be swallowed into the comment of line 2, with exit status 0."""
    root = make_data(tmp_path)
    text = 'indicateur;année;valeur;commentaire\n1.1;2019;5;"en cours\n1.1;2020;6;\n1.1;2021;7;\n'
    (root / "monitoring" / "q.csv").write_text(text, encoding="utf-8")
    status, lines = validate(root, capsys)
    assert status == 2
    assert lines == [
        'monitoring/q.csv, line 2: opens a quote (") that is never closed: every later line would be read'
        " into one cell (close the quote, or remove it)"
    ]


def test_a_quoted_cell_over_several_lines_is_still_read(tmp_path, capsys):
    """The check above must not refuse a comment that really holds a line break (Excel quotes it)."""
    from evaluation.intake import load_monitoring
    from evaluation.io import load_dataset
    from evaluation.referential.plan import load_plan

    root = make_data(tmp_path)
    text = 'indicateur;année;valeur;commentaire\n1.1;2019;5;"ligne un\nligne deux"\n1.1;2020;6;\n'
    (root / "monitoring" / "q.csv").write_text(text, encoding="utf-8")
    frame, problems = load_monitoring(load_dataset(root), load_plan())
    assert problems == []
    assert frame["comment"].tolist() == ["ligne un\nligne deux", None]


def test_a_file_mixing_utf8_and_windows_1252_names_the_first_other_line(tmp_path, capsys):
    """Read as Windows-1252, line 2 would publish 'rÃ©alisÃ©'."""
    root = make_data(tmp_path)
    data = (
        "indicateur;année;valeur;commentaire\n".encode("cp1252")
        + "1.1;2019;5;réalisé\n".encode()
        + "1.1;2020;6;prévu\n".encode("cp1252")
    )
    (root / "monitoring" / "mixed.csv").write_bytes(data)
    status, lines = validate(root, capsys)
    assert status == 2
    assert lines == [
        "monitoring/mixed.csv, line 1: mixes two text encodings: this line is not UTF-8, line 2 is"
        " (save the whole file again as UTF-8 (CSV UTF-8 in Excel))"
    ]


def test_a_quote_closed_lines_later_is_not_a_comment(tmp_path, capsys):
    """A stray quote on line 2 closed by another on line 4: lines 3 and 4 would become one comment."""
    root = make_data(tmp_path)
    text = 'indicateur;année;valeur;commentaire\n1.1;2019;5;"en cours\n1.1;2020;6;\n1.1;2021;7;fin"\n'
    (root / "monitoring" / "q.csv").write_text(text, encoding="utf-8")
    status, lines = validate(root, capsys)
    assert status == 2
    assert lines == [
        'monitoring/q.csv, line 2: opens a quote (") that is closed only on line 4: the lines between would be'
        " read into one cell (close the quote on its own line, or remove it)"
    ]
