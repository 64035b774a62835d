// Generate values from a format-1 .phony model with nothing but Node's standard library.
//
//   phony migrate names.phony --to 1 -o names.v1.phony     (or: phony install tr_TR
//   node reader.mjs names.v1.phony 10 42                         --format-version 1 --export DIR)
//
// Arguments: MODEL [COUNT=10] [SEED=0]. One value per line on stdout. The walk is the
// one in docs/format.md ("Reading format 1 in other languages"): start from the context
// of order-1 start markers, draw the next token by weight from ngrams[order][context],
// stop at the end marker. A seeded generator (mulberry32) gives the same values for the
// same seed (not the same values as phony's own generator, which has its own stream).
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";

const START = "\u0002"; // pads the context at the start of a value
const END = "\u0003"; // the next token that ends a value

export function loadModel(path) {
  const model = JSON.parse(gunzipSync(readFileSync(path)).toString("utf8"));
  if (!model || !model.tokens || !model.ngrams) {
    throw new Error(`${path}: not a format-1 .phony model (phony migrate MODEL --to 1)`);
  }
  return model;
}

export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// One value, or null when the walk runs past maxLength (phony rejects those too).
export function walk(table, order, maxLength, random) {
  const context = Array(order - 1).fill(START); // characters, so any code point fits
  let value = "";
  for (let length = 0; ; length++) {
    const nexts = table[context.join("")];
    let total = 0;
    for (const weight of Object.values(nexts)) total += weight;
    let r = Math.floor(random() * total);
    let token;
    for (const [next, weight] of Object.entries(nexts)) {
      token = next;
      r -= weight;
      if (r < 0) break;
    }
    if (token === END) return value;
    if (length >= maxLength) return null;
    value += token;
    if (order > 1) {
      context.shift();
      context.push(token);
    }
  }
}

const [path, count = "10", seed = "0"] = process.argv.slice(2);
if (!path) {
  console.error("usage: node reader.mjs MODEL.phony [COUNT] [SEED]");
  process.exit(2);
}
const model = loadModel(path);
const order = model.order ?? Math.max(...Object.keys(model.ngrams).map(Number));
const table = model.ngrams[String(order)];
const maxLength = model.max_length ?? 64;
const random = mulberry32(Number(seed));
const out = [];
for (let made = 0; made < Number(count); ) {
  const value = walk(table, order, maxLength, random);
  if (value !== null) {
    out.push(value);
    made++;
  }
}
process.stdout.write(out.map((v) => v + "\n").join(""));
