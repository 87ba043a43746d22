import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { encodeTimeout, parseTimeout } from "../../src/protocol/grpc-timeout.js";
import { failOnLeakedHandles } from "../helpers/leak-check.js";

failOnLeakedHandles();

const HEADER = /^(\d{1,8})([HMSmun])$/;

describe("parseTimeout", () => {
  const cases: Array<[string, number]> = [
    ["1H", 3_600_000],
    ["2H", 7_200_000],
    ["1M", 60_000],
    ["90M", 5_400_000],
    ["1S", 1_000],
    ["30S", 30_000],
    ["1m", 1],
    ["250m", 250],
    ["1000u", 1],
    ["1500u", 1.5],
    ["1000000n", 1],
    ["2500000n", 2.5],
    ["0m", 0],
    ["00000001S", 1_000],
    ["99999999H", 99_999_999 * 3_600_000],
  ];
  for (const [header, ms] of cases) {
    test(`"${header}" is ${ms} ms`, () => {
      assert.equal(parseTimeout(header), ms);
    });
  }

  test("sub-millisecond units keep their fraction", () => {
    assert.ok(Math.abs(parseTimeout("1u")! - 0.001) < 1e-12);
    assert.ok(Math.abs(parseTimeout("1n")! - 0.000001) < 1e-15);
    assert.ok(Math.abs(parseTimeout("123n")! - 0.000123) < 1e-15);
  });

  const malformed = [
    "",
    "S",
    "m",
    "1",
    "12345678",
    "123456789S",
    "123456789m",
    "1s",
    "1h",
    "1x",
    "1ms",
    "1 S",
    " 1S",
    "1S ",
    "1S\n",
    "-1S",
    "+1S",
    "1.5S",
    "1e3m",
    "0x10S",
    "１S", // full-width digit
    "1SS",
    "S1",
  ];
  for (const value of malformed) {
    test(`${JSON.stringify(value)} is malformed`, () => {
      assert.equal(parseTimeout(value), undefined);
    });
  }
});

describe("encodeTimeout", () => {
  const cases: Array<[number, string]> = [
    [1, "1000000n"],
    [3, "3000000n"],
    [99, "99000000n"],
    [100, "100000u"],
    [1000, "1000000u"],
    [99_999, "99999000u"],
    [100_000, "100000m"],
    [99_999_999, "99999999m"],
    [100_000_000, "100000S"],
    [0.5, "500000n"],
  ];
  for (const [ms, header] of cases) {
    test(`${ms} ms is "${header}"`, () => {
      assert.equal(encodeTimeout(ms), header);
    });
  }

  test("fractions of a millisecond go out in ns, rounded up to at most one extra ns", () => {
    for (const ms of [0.001, 0.0005, 12.345, 0.123456]) {
      const header = encodeTimeout(ms);
      assert.match(header, /^\d{1,8}n$/);
      const back = parseTimeout(header)!;
      assert.ok(back >= ms * (1 - 1e-12) && back <= ms + 1.000001e-6, `${ms} ms encoded as ${header}`);
    }
  });

  test("rounds up, never down, when the finest unit that fits is coarser than the value", () => {
    // 100000.5 ms does not fit in 8 digits of µs, so it goes out in ms and must round up.
    assert.equal(encodeTimeout(100_000.5), "100001m");
    // 99_999_999_500 ms is 99_999_999.5 s: rounds up to the next minute.
    assert.equal(encodeTimeout(99_999_999_500), "1666667M");
    assert.equal(encodeTimeout(100_000_000_001), "1666667M");
  });

  test("moves to minutes and hours for very long timeouts", () => {
    assert.equal(encodeTimeout(100_000_000_000), "1666667M");
    assert.equal(encodeTimeout(99_999_999 * 60_000), "99999999M");
    assert.equal(encodeTimeout(99_999_999 * 60_000 + 1), "1666667H");
    assert.equal(encodeTimeout(99_999_999 * 3_600_000), "99999999H");
  });

  test("clamps values beyond 99999999 hours to the maximum", () => {
    assert.equal(encodeTimeout(1e20), "99999999H");
    assert.equal(encodeTimeout(Infinity), "99999999H");
  });

  test("zero and negative timeouts still produce a legal header", () => {
    for (const ms of [0, -1, -1e9]) {
      const header = encodeTimeout(ms);
      assert.match(header, HEADER);
      assert.ok(parseTimeout(header)! <= 0.001, `${ms} ms encoded as ${header}`);
    }
  });

  test("always emits 1 to 8 digits and a unit, and never shortens the timeout", () => {
    const samples: number[] = [];
    for (let ms = 0; ms <= 2_000; ms++) samples.push(ms);
    for (let exp = -6; exp <= 13; exp++) for (const m of [1, 1.5, 3.3333, 9.999999]) samples.push(m * 10 ** exp);
    let seed = 12345;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 2_000; i++) samples.push(random() * 10 ** (random() * 14 - 3));
    for (const ms of samples) {
      const header = encodeTimeout(ms);
      assert.match(header, HEADER, `${ms} ms`);
      const back = parseTimeout(header)!;
      // never shorter (allowing for floating-point representation of the parsed value)
      assert.ok(back >= ms * (1 - 1e-12), `${ms} ms encoded as ${header} = ${back} ms`);
    }
  });

  test("picks the finest unit whose value fits in 8 digits", () => {
    const units = ["n", "u", "m", "S", "M", "H"];
    const unitMs = [1e-6, 1e-3, 1, 1e3, 6e4, 3.6e6];
    for (const ms of [0.25, 7, 42.5, 123.456, 5_000, 86_400_000, 1e11, 1e13]) {
      const header = encodeTimeout(ms);
      const unit = units.indexOf(header.slice(-1));
      assert.ok(unit >= 0);
      if (unit > 0) {
        // the next finer unit would need more than 8 digits
        assert.ok(Math.ceil(ms / unitMs[unit - 1]!) > 99_999_999, `${ms} ms as ${header}: a finer unit fits`);
      }
    }
  });
});
