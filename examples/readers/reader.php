<?php
// Generate values from a format-1 .phony model with nothing but PHP's standard library.
//
//   phony migrate names.phony --to 1 -o names.v1.phony     (or: phony install tr_TR
//   php reader.php names.v1.phony 10 42                          --format-version 1 --export DIR)
//
// Arguments: MODEL [COUNT=10] [SEED=0]. One value per line on stdout. The walk is the
// one in docs/format.md ("Reading format 1 in other languages"): start from the context
// of order-1 start markers, draw the next token by weight from ngrams[order][context],
// stop at the end marker. A seeded mt_rand gives the same values for the same seed
// (not the same values as phony's own generator, which follows its own random stream).

const START = "\u{2}";  // pads the context at the start of a value
const END = "\u{3}";    // the next token that ends a value

function load_model(string $path): array
{
    $model = json_decode(gzdecode(file_get_contents($path)), true);
    if (!is_array($model) || !isset($model['tokens'], $model['ngrams'])) {
        throw new RuntimeException("$path: not a format-1 .phony model (phony migrate MODEL --to 1)");
    }
    return $model;
}

/** One value, or null when the walk runs past max_length (phony rejects those too). */
function walk(array $table, int $order, int $maxLength): ?string
{
    $context = array_fill(0, $order - 1, START);
    $value = '';
    for ($length = 0; ; $length++) {
        $nexts = $table[implode('', $context)];
        $r = mt_rand(1, array_sum($nexts));
        foreach ($nexts as $token => $weight) {
            $r -= $weight;
            if ($r <= 0) {
                break;
            }
        }
        $token = (string) $token;  // json_decode turns a key like "7" into the integer 7
        if ($token === END) {
            return $value;
        }
        if ($length >= $maxLength) {
            return null;
        }
        $value .= $token;
        if ($order > 1) {
            array_shift($context);
            $context[] = $token;
        }
    }
}

if ($argc < 2) {
    fwrite(STDERR, "usage: php reader.php MODEL.phony [COUNT] [SEED]\n");
    exit(2);
}
$model = load_model($argv[1]);
$order = $model['order'] ?? max(array_map('intval', array_keys($model['ngrams'])));
$table = $model['ngrams'][(string) $order];
$maxLength = $model['max_length'] ?? 64;
$count = (int) ($argv[2] ?? 10);
mt_srand((int) ($argv[3] ?? 0));
for ($made = 0; $made < $count;) {
    $value = walk($table, $order, $maxLength);
    if ($value !== null) {
        echo $value, "\n";
        $made++;
    }
}
