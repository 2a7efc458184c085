"""A LevelDB table corrupted on disk: start-up stops with an error naming the
table, instead of the process dying inside LevelDB."""
import glob
import os

from server import Server
from test_wal_tail import start_expecting_failure


def put_varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def get_varint(buf, i):
    v, shift = 0, 0
    while True:
        b = buf[i]
        i += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return v, i


def make_tables(tmp_path):
    """A data dir whose every table LevelDB will read at the next start."""
    data = str(tmp_path / "d")
    srv = Server(data).start()
    c = srv.client()
    p = c.pipeline(transaction=False)
    for i in range(60000):
        p.set("key:%06d" % i, "v" * 200)
        if i % 1000 == 999:
            p.execute()
    p.execute()
    assert c.save() is True
    srv.stop()
    # A second run: LevelDB turns what its own log still held into tables
    # (which may reuse the numbers of tables written but not yet recorded)
    # and compacts; after it every table on disk is one LevelDB will read.
    srv = Server(data).start()
    assert srv.client().dbsize() == 60000
    srv.stop()
    # A compaction still running at the stop leaves a table without its
    # footer, which LevelDB deletes at the next start without reading it.
    tables = [t for t in sorted(glob.glob(os.path.join(data, "data", "*.ldb")))
              if is_complete_table(t)]
    assert tables, os.listdir(os.path.join(data, "data"))
    return data, tables


TABLE_MAGIC = (0xdb4775248b80fb57).to_bytes(8, "little")


def is_complete_table(path):
    """A table ends with its footer, whose last 8 bytes are LevelDB's magic."""
    with open(path, "rb") as f:
        if f.seek(0, os.SEEK_END) < 48:
            return False
        f.seek(-8, os.SEEK_END)
        return f.read(8) == TABLE_MAGIC


def test_a_table_footer_pointing_past_its_file_stops_startup_naming_the_table(tmp_path):
    data, tables = make_tables(tmp_path)
    for table in tables:
        corrupt_footer(table)
    rc, out = start_expecting_failure(data)
    assert rc == 1, out
    assert "table footer points past the file" in out, out
    assert any(os.path.basename(t) in out for t in tables), out


def read_footer(f):
    """A table's footer is its last 48 bytes: the metaindex handle and the
    index handle (varint offset and size each), padding, an 8-byte magic.
    Returns the footer and its metaindex offset and size and index offset."""
    f.seek(-48, os.SEEK_END)
    footer = f.read(48)
    meta_off, i = get_varint(footer, 0)
    meta_size, i = get_varint(footer, i)
    index_off, i = get_varint(footer, i)
    return footer, meta_off, meta_size, index_off


def corrupt_footer(table):
    """The index block's size becomes 2^45 bytes, which LevelDB would
    allocate before reading it."""
    with open(table, "r+b") as f:
        footer, meta_off, meta_size, index_off = read_footer(f)
        handles = put_varint(meta_off) + put_varint(meta_size) + put_varint(index_off) + \
            put_varint(1 << 45)
        f.seek(-48, os.SEEK_END)
        f.write(handles + bytes(40 - len(handles)) + footer[40:])


def test_a_corrupt_index_block_stops_startup_naming_the_table(tmp_path):
    """The index block holds the handles (offset, size) of the data blocks,
    which LevelDB allocates before reading; it is checked against its
    checksum first. Here one byte of each table's index block is flipped."""
    data, tables = make_tables(tmp_path)
    for table in tables:
        with open(table, "r+b") as f:
            index_off = read_footer(f)[3]
            f.seek(index_off + 3)
            b = f.read(1)
            f.seek(index_off + 3)
            f.write(bytes([b[0] ^ 0x40]))
    rc, out = start_expecting_failure(data)
    assert rc == 1, out
    assert "index block checksum mismatch" in out, out
    assert any(os.path.basename(t) in out for t in tables), out
