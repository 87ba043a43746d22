import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { Metadata, isBinaryKey } from "../../src/core/metadata.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";

failOnLeakedHandles();

const bytes = (...values: number[]): Uint8Array => new Uint8Array(values);

describe("isBinaryKey", () => {
  test("only keys ending in -bin are binary", () => {
    assert.equal(isBinaryKey("trace-bin"), true);
    assert.equal(isBinaryKey("grpc-status-details-bin"), true);
    assert.equal(isBinaryKey("bin"), false);
    assert.equal(isBinaryKey("trace-bin-x"), false);
    assert.equal(isBinaryKey("tracebin"), false);
  });
});

describe("Metadata keys", () => {
  test("upper-case keys are stored lower-case and looked up case-insensitively", () => {
    const md = new Metadata().add("X-Request-ID", "abc");
    assert.deepEqual([...md.keys()], ["x-request-id"]);
    assert.equal(md.get("x-request-id"), "abc");
    assert.equal(md.get("X-REQUEST-ID"), "abc");
    assert.equal(md.has("X-Request-Id"), true);
    assert.deepEqual(md.getAll("X-REQUEST-ID"), ["abc"]);
  });

  test("legal characters are digits, lower-case letters, '_', '.', '-'", () => {
    const md = new Metadata().add("a0_.-z9", "v");
    assert.equal(md.get("a0_.-z9"), "v");
  });

  const illegal = ["", "has space", "colon:", ":path", "slash/", "quote\"", "tab\t", "nul\0", "ümlaut", "emoji😀", "a=b", "a,b", "\u212Aelvin"];
  for (const key of illegal) {
    test(`key ${JSON.stringify(key)} throws TypeError`, () => {
      assert.throws(() => new Metadata().add(key, "v"), TypeError);
      assert.throws(() => new Metadata().set(key, "v"), TypeError);
      assert.throws(() => new Metadata({ [key]: "v" }), TypeError);
    });
  }

  test("a failed add leaves the metadata unchanged", () => {
    const md = new Metadata().add("ok", "1");
    assert.throws(() => md.add("bad key", "2"), TypeError);
    assert.throws(() => md.add("ok", "bad\nvalue"), TypeError);
    assert.deepEqual(md.toJSON(), { ok: ["1"] });
  });
});

describe("Metadata values", () => {
  test("-bin keys require bytes", () => {
    assert.throws(() => new Metadata().add("trace-bin", "text" as unknown as Uint8Array), TypeError);
    assert.throws(() => new Metadata().set("TRACE-BIN", "text"), TypeError);
    const md = new Metadata().add("trace-bin", bytes(0, 255, 10));
    assert.deepEqual(md.get("trace-bin"), bytes(0, 255, 10));
    md.add("buf-bin", Buffer.from("hi"));
    assert.deepEqual(md.get("buf-bin"), Buffer.from("hi"));
  });

  test("an empty binary value is allowed", () => {
    const md = new Metadata().add("empty-bin", new Uint8Array(0));
    assert.equal((md.get("empty-bin") as Uint8Array).length, 0);
  });

  test("text keys require strings", () => {
    assert.throws(() => new Metadata().add("text", bytes(1, 2)), TypeError);
    assert.throws(() => new Metadata().add("text", 42 as unknown as string), TypeError);
  });

  test("text values must be HTTP field values: printable ASCII, plus inner tabs and U+0080-U+00FF (what can be received)", () => {
    const md = new Metadata().add("k", "!~ printable ~!").add("empty", "").add("latin1", "café").add("tab", "a\tb");
    assert.equal(md.get("k"), "!~ printable ~!");
    assert.equal(md.get("empty"), "");
    assert.equal(md.get("latin1"), "café");
    for (const value of ["line\nbreak", "tab\t", "nul\0", "del\x7f", "日本", "\x1f", "😀", "€"]) {
      assert.throws(() => new Metadata().add("k", value), TypeError, JSON.stringify(value));
    }
  });
});

describe("Metadata multimap", () => {
  test("repeated keys keep their insertion order", () => {
    const md = new Metadata().add("k", "1").add("other", "x").add("K", "2").add("k", "3");
    assert.deepEqual(md.getAll("k"), ["1", "2", "3"]);
    assert.equal(md.get("k"), "1");
    assert.deepEqual([...md], [
      ["k", "1"],
      ["k", "2"],
      ["k", "3"],
      ["other", "x"],
    ]);
    assert.equal(md.size, 2);
  });

  test("set replaces every value of a key", () => {
    const md = new Metadata().add("k", "1").add("k", "2");
    md.set("K", "3");
    assert.deepEqual(md.getAll("k"), ["3"]);
  });

  test("get, getAll and has for missing keys", () => {
    const md = new Metadata();
    assert.equal(md.get("nope"), undefined);
    assert.equal(md.getString("nope"), undefined);
    assert.deepEqual(md.getAll("nope"), []);
    assert.equal(md.has("nope"), false);
    assert.equal(md.size, 0);
  });

  test("getAll returns a copy", () => {
    const md = new Metadata().add("k", "1");
    md.getAll("k").push("2");
    assert.deepEqual(md.getAll("k"), ["1"]);
  });

  test("getString decodes bytes as UTF-8", () => {
    const md = new Metadata().add("name-bin", Buffer.from("héllo", "utf8")).add("t", "plain");
    assert.equal(md.getString("name-bin"), "héllo");
    assert.equal(md.getString("t"), "plain");
  });

  test("delete removes every value of a key", () => {
    const md = new Metadata().add("a", "1").add("a", "2").add("b", "3");
    assert.equal(md.delete("A"), true);
    assert.equal(md.delete("a"), false);
    assert.equal(md.has("a"), false);
    assert.deepEqual(md.getAll("a"), []);
    assert.deepEqual([...md], [["b", "3"]]);
  });

  test("clone is independent of the original", () => {
    const md = new Metadata().add("a", "1").add("b-bin", bytes(1));
    const copy = md.clone();
    assert.notEqual(copy, md);
    copy.add("a", "2");
    copy.add("c", "3");
    md.delete("b-bin");
    assert.deepEqual(md.toJSON(), { a: ["1"] });
    assert.deepEqual(copy.toJSON(), { a: ["1", "2"], "b-bin": [bytes(1)], c: ["3"] });
  });

  test("merge appends after existing values and does not alias the source", () => {
    const target = new Metadata().add("a", "1");
    const source = new Metadata().add("a", "2").add("b", "x");
    target.merge(source);
    assert.deepEqual(target.getAll("a"), ["1", "2"]);
    assert.deepEqual(target.getAll("b"), ["x"]);
    target.add("b", "y");
    assert.deepEqual(source.getAll("b"), ["x"], "merge must copy the value lists");
    assert.deepEqual(source.getAll("a"), ["2"]);
  });

  test("merge accepts plain objects and entry lists, with validation", () => {
    const md = new Metadata().add("a", "1");
    md.merge({ a: ["2", "3"], B: "4", skipped: undefined });
    md.merge([
      ["c", "5"],
      ["c", "6"],
    ]);
    assert.deepEqual(md.toJSON(), { a: ["1", "2", "3"], b: ["4"], c: ["5", "6"] });
    assert.throws(() => md.merge({ "bad key": "x" }), TypeError);
    assert.throws(() => md.merge([["x-bin", "not bytes"]]), TypeError);
  });

  test("the constructor takes objects, entry lists, Maps and Metadata", () => {
    assert.deepEqual(new Metadata({ a: "1", b: ["2", "3"] }).toJSON(), { a: ["1"], b: ["2", "3"] });
    assert.deepEqual(new Metadata([["a", "1"], ["A", "2"]]).toJSON(), { a: ["1", "2"] });
    assert.deepEqual(new Metadata(new Map([["m", "v"]])).toJSON(), { m: ["v"] });
    const source = new Metadata().add("s", "1");
    const copy = new Metadata(source);
    copy.add("s", "2");
    assert.deepEqual(source.getAll("s"), ["1"]);
  });

  test("Metadata.from returns Metadata itself and wraps anything else", () => {
    const md = new Metadata();
    assert.equal(Metadata.from(md), md);
    const made = Metadata.from({ k: "v" });
    assert.ok(made instanceof Metadata);
    assert.equal(made.get("k"), "v");
    assert.equal(Metadata.from(undefined).size, 0);
  });

  test("addTrusted skips validation", () => {
    const md = new Metadata();
    md.addTrusted("raw", "value\twith tab");
    md.addTrusted("raw", "second");
    assert.deepEqual(md.getAll("raw"), ["value\twith tab", "second"]);
  });
});

test("a text value with a leading or trailing space is refused, since HTTP/2 would drop it", () => {
  assert.throws(() => new Metadata().add("k", " lead"), /must not start or end with a space/);
  assert.throws(() => new Metadata().add("k", "trail "), /must not start or end with a space/);
  assert.equal(new Metadata().add("k", "in side").get("k"), "in side");
});
