import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { decodeGrpcMessage, encodeGrpcMessage } from "../../src/protocol/grpc-message.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";

failOnLeakedHandles();

describe("encodeGrpcMessage", () => {
  test("leaves printable ASCII untouched", () => {
    const text = "!\"# $&'()*+,-./0123456789:;<=>?@ABCXYZ[\\]^_`abcxyz{|}~";
    assert.equal(encodeGrpcMessage(text), text);
    assert.equal(encodeGrpcMessage(""), "");
  });

  test("escapes '%' itself", () => {
    assert.equal(encodeGrpcMessage("100%"), "100%25");
    assert.equal(encodeGrpcMessage("%%"), "%25%25");
    assert.equal(encodeGrpcMessage("%41"), "%2541");
  });

  test("escapes control characters and DEL", () => {
    assert.equal(encodeGrpcMessage("a\nb"), "a%0Ab");
    assert.equal(encodeGrpcMessage("\r\t\0"), "%0D%09%00");
    assert.equal(encodeGrpcMessage("\x1f\x7f"), "%1F%7F");
  });

  test("escapes non-ASCII as its UTF-8 bytes, upper-case hex", () => {
    assert.equal(encodeGrpcMessage("é"), "%C3%A9");
    assert.equal(encodeGrpcMessage("\u00ff"), "%C3%BF");
    assert.equal(encodeGrpcMessage("€ 5"), "%E2%82%AC 5");
    assert.equal(encodeGrpcMessage("😀"), "%F0%9F%98%80");
    assert.equal(encodeGrpcMessage("日本"), "%E6%97%A5%E6%9C%AC");
  });

  test("escapes a space at either end, which HTTP/2 forbids in a header value (RFC 9113 8.2.1)", () => {
    assert.equal(encodeGrpcMessage(" spaced  "), "%20spaced %20");
    assert.equal(encodeGrpcMessage(" "), "%20");
    assert.equal(encodeGrpcMessage("  "), "%20%20");
    assert.equal(encodeGrpcMessage("inner spaces stay"), "inner spaces stay");
    assert.equal(encodeGrpcMessage(" é "), "%20%C3%A9%20");
    for (const text of [" a", "a ", "  a  b  ", " ", "\t x \t", "é "]) {
      const encoded = encodeGrpcMessage(text);
      assert.doesNotMatch(encoded, /^[ \t]|[ \t]$/, JSON.stringify(text));
      assert.equal(decodeGrpcMessage(encoded), text);
    }
  });

  test("output is always printable ASCII", () => {
    for (const text of ["héllo\nwörld 100% ✓", "\u0000\u0001\u007f\u0080\uffff", "a😀b"]) {
      assert.match(encodeGrpcMessage(text), /^[\x20-\x7e]*$/);
    }
  });
});

describe("decodeGrpcMessage", () => {
  test("decodes escapes of either case", () => {
    assert.equal(decodeGrpcMessage("100%25"), "100%");
    assert.equal(decodeGrpcMessage("%c3%a9t%C3%A9"), "été");
    assert.equal(decodeGrpcMessage("a%0Ab"), "a\nb");
    assert.equal(decodeGrpcMessage("%41%42C"), "ABC");
  });

  test("plain text passes through", () => {
    assert.equal(decodeGrpcMessage("nothing to see"), "nothing to see");
    assert.equal(decodeGrpcMessage(""), "");
  });

  test("bad escapes are passed through as raw text", () => {
    assert.equal(decodeGrpcMessage("50%"), "50%");
    assert.equal(decodeGrpcMessage("%"), "%");
    assert.equal(decodeGrpcMessage("%4"), "%4");
    assert.equal(decodeGrpcMessage("x%4"), "x%4");
    assert.equal(decodeGrpcMessage("%zz"), "%zz");
    assert.equal(decodeGrpcMessage("%G0 and %0G"), "%G0 and %0G");
    assert.equal(decodeGrpcMessage("%%41"), "%A");
    assert.equal(decodeGrpcMessage("%-1"), "%-1");
  });

  test("valid and invalid escapes mixed", () => {
    assert.equal(decodeGrpcMessage("%E2%82%AC off: 20% today%21"), "€ off: 20% today!");
  });

  test("an escape at the very end is decoded", () => {
    assert.equal(decodeGrpcMessage("end%21"), "end!");
    assert.equal(decodeGrpcMessage("%21"), "!");
  });

  test("raw non-ASCII next to escapes survives, including characters outside the BMP", () => {
    assert.equal(decodeGrpcMessage("é %41"), "é A");
    assert.equal(decodeGrpcMessage("😀 %41 😀"), "😀 A 😀");
    assert.equal(decodeGrpcMessage("50% off 😀"), "50% off 😀");
  });

  test("never throws, even on invalid UTF-8 after decoding", () => {
    assert.doesNotThrow(() => decodeGrpcMessage("%FF%FE%C3"));
    assert.equal(typeof decodeGrpcMessage("%FF"), "string");
  });
});

describe("round trip", () => {
  const samples = [
    "",
    "plain",
    "100% done",
    "%25 literally",
    "line one\nline two\r\n\ttabbed",
    "unicode: é ü ß ñ 日本語 한국어 العربية",
    "emoji: 😀👍🏽🇩🇪",
    "nul \0 and del \x7f",
    "\u0080\u07ff\u0800\uffff\u{10000}\u{10ffff}",
    "%zz %4 % trailing %",
  ];
  for (const text of samples) {
    test(JSON.stringify(text), () => {
      assert.equal(decodeGrpcMessage(encodeGrpcMessage(text)), text);
    });
  }
});
