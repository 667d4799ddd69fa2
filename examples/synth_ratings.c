/*
 * synth_ratings - write a synthetic ratings database with planted taste groups.
 *
 *   cc -O2 -o synth_ratings synth_ratings.c -lsqlite3 -lm
 *   ./synth_ratings OUT.db [--users N] [--items N] [--seed S]
 *                          [--min-rated N] [--max-rated N] [--heldout-pct P]
 *        (defaults: 600 users, 300 items, seed 1, 20..120 ratings per
 *         user, 10% held out)
 *
 *   The last three exist for the benchmark, which needs a table shaped like
 *   MovieLens-25M (25M ratings, ~162k users, ~59k items, >= 20 per user):
 *     --users 162000 --items 59000 --max-rated 16000   ~25M ratings
 *     --users  32500 --items 59000 --max-rated 16000    ~5M
 *     --users   6500 --items 59000 --max-rated 16000    ~1M
 *   (the mean count per user is about min * (1 + ln(max / min)), 154 here).
 *   --heldout-pct 0 puts every rating in `ratings` and leaves `heldout`
 *   empty.  Runs without these options write exactly what they always did.
 *
 * Creates (dropping any existing copies) in OUT.db:
 *   items(item_id INTEGER PRIMARY KEY, title TEXT, genre TEXT)
 *   users(user_id INTEGER PRIMARY KEY, taste TEXT)    -- the loved genres
 *   ratings(user_id INTEGER, item_id INTEGER, rating INTEGER)   -- training
 *   heldout(user_id INTEGER, item_id INTEGER, rating INTEGER)   -- ~P%/user
 *
 * Why: on real data it is hard to tell whether a recommender learned
 * anything.  Here the answer is known: every user loves 1-2 of 6 genres
 * (rates 4-5), is neutral on 1-2 (2-4) and dislikes the rest (1-2), so a
 * model trained on `ratings` should predict high for the loved genres in
 * `heldout` and low for the others, and its recommendations should match
 * the user's `taste`.
 *
 * Shape: users watch mostly (70%) their loved genres, the rest spread over
 * the other genres; popularity inside a genre is Zipf-like; the number of
 * ratings per user is heavy-tailed (Pareto, alpha 1, truncated to
 * --min-rated..--max-rated and to the item count); each item has a
 * quality offset of +-0.5.  No (user, item) pair appears twice.
 *
 * Output is byte-identical for a given seed on any machine: the RNG is our
 * own xoshiro256** and all sampling is done in integer arithmetic (no libm,
 * no float rounding or FMA-contraction differences between platforms).
 *
 * Speed: the 25M-row shape takes about 15 s on a small machine, in a few
 * MB of memory: nothing is kept per rating beyond the current user, and
 * the database is written in one transaction through prepared statements
 * with the rollback journal and fsyncs off (so an interrupted run leaves
 * OUT.db unusable: write to a fresh file and rerun on failure).  These
 * pragmas do not change the written data.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

#define NGENRES    6
#define LOVED_PCT  70   /* share of a user's ratings in loved genres */

static const char *const genre_name[NGENRES] = {
    "space opera", "romance", "horror", "cartoon", "documentary", "western"
};

/* Titles are "The <adjective> <noun>"; nouns are unique across genres so
 * two genres never produce the same title. */
static const char *const title_adj[NGENRES][8] = {
    { "Last", "Red", "Silent", "Distant", "Fallen", "Iron", "Broken", "Endless" },
    { "Summer", "Secret", "Paris", "Little", "Second", "Midnight", "Golden", "Quiet" },
    { "Dark", "Hollow", "Crimson", "Rotting", "Whispering", "Forgotten", "Cursed", "Pale" },
    { "Happy", "Tiny", "Wacky", "Brave", "Bouncy", "Magic", "Silly", "Jolly" },
    { "Hidden", "Wild", "Ancient", "Deep", "Frozen", "Vanishing", "Living", "Lost" },
    { "Lonesome", "Dusty", "Dead", "Savage", "Long", "Silver", "High", "Red" },
};
static const char *const title_noun[NGENRES][8] = {
    { "Star", "Fleet", "Nebula", "Empire", "Frontier", "Moon", "Station", "Comet" },
    { "Kiss", "Letter", "Promise", "Garden", "Wedding", "Heart", "Affair", "Song" },
    { "Cellar", "House", "Woods", "Doll", "Asylum", "Well", "Mask", "Harvest" },
    { "Penguin", "Robot", "Puppy", "Dragon", "Rocket", "Bunny", "Pirate", "Teapot" },
    { "Ocean", "Forest", "Kingdom", "Desert", "Planet", "River", "Cities", "Machines" },
    { "Trail", "Gun", "Rider", "Canyon", "Saloon", "Sheriff", "Mesa", "Outlaw" },
};

enum attitude { LOVE, NEUTRAL, DISLIKE };
/* Mean rating per attitude, in tenths of a star. */
static const int base10[3] = { 46, 30, 14 };

/* ---- RNG: splitmix64 seeds xoshiro256** (public-domain reference algos) */

static uint64_t rng_s[4];

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rng_next(void)
{
    uint64_t result = rotl(rng_s[1] * 5, 7) * 9;
    uint64_t t = rng_s[1] << 17;
    rng_s[2] ^= rng_s[0];
    rng_s[3] ^= rng_s[1];
    rng_s[1] ^= rng_s[2];
    rng_s[0] ^= rng_s[3];
    rng_s[2] ^= t;
    rng_s[3] = rotl(rng_s[3], 45);
    return result;
}

static void rng_seed(uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        rng_s[i] = splitmix64(&seed);
}

/* Uniform integer in [0, n), without modulo bias (rejection sampling). */
static uint64_t rng_below(uint64_t n)
{
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = rng_next(); while (x >= limit);
    return x % n;
}

/* Zipf draw: the first rank r with cum[r] > x for x uniform below the
 * total cum[n-1], by binary search (branch-free halving: the hot loop of
 * big runs, and a mispredicted branch per step is costly). */
static int zipf_rank(const uint64_t *cum, int n)
{
    uint64_t x = rng_below(cum[n - 1]);
    const uint64_t *base = cum;
    for (int len = n; len > 1; len -= len / 2)
        base += base[len / 2 - 1] <= x ? len / 2 : 0;
    return (int)(base - cum);
}

/* ---- helpers */

static sqlite3 *db;

static void die_db(const char *what)
{
    fprintf(stderr, "synth_ratings: %s: %s\n", what, sqlite3_errmsg(db));
    sqlite3_close(db);
    exit(1);
}

static void exec_sql(const char *sql)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        die_db(sql);
}

static sqlite3_stmt *prepare(const char *sql)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        die_db(sql);
    return st;
}

static void step_reset(sqlite3_stmt *st)
{
    if (sqlite3_step(st) != SQLITE_DONE)
        die_db("insert");
    sqlite3_reset(st);
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (!p) {
        fprintf(stderr, "synth_ratings: out of memory\n");
        exit(1);
    }
    return p;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: synth_ratings OUT.db [--users N] [--items N] [--seed S]\n"
               "                     [--min-rated N] [--max-rated N] [--heldout-pct P]\n"
               "  defaults: --users 600 --items 300 --seed 1 (items >= %d)\n"
               "            --min-rated 20 --max-rated 120 --heldout-pct 10\n"
               "  ML-25M shape: --users 162000 --items 59000 --max-rated 16000\n",
            NGENRES);
}

/* Parse a decimal unsigned number in [lo, hi]; exit 1 on anything else. */
static uint64_t parse_num(const char *opt, const char *s, uint64_t lo, uint64_t hi)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s ? s : "", &end, 10);
    if (!s || !*s || *s == '-' || *s == '+' || *end || errno || v < lo || v > hi) {
        fprintf(stderr, "synth_ratings: %s needs a number in %" PRIu64 "..%" PRIu64
                        ", got '%s'\n", opt, lo, hi, s ? s : "");
        exit(1);
    }
    return v;
}

/* ---- main */

int main(int argc, char **argv)
{
    const char *path = NULL;
    int nusers = 600, nitems = 300;
    int min_rated = 20, max_rated = 120;   /* per-user rating count range */
    int heldout_pct = 10;
    uint64_t seed = 1;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;   /* option value */
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--users")) {
            nusers = (int)parse_num(a, val, 1, 10000000);
            i++;
        } else if (!strcmp(a, "--items")) {
            nitems = (int)parse_num(a, val, NGENRES, 10000000);
            i++;
        } else if (!strcmp(a, "--seed")) {
            seed = parse_num(a, val, 0, UINT64_MAX);
            i++;
        } else if (!strcmp(a, "--min-rated")) {
            min_rated = (int)parse_num(a, val, 1, 10000000);
            i++;
        } else if (!strcmp(a, "--max-rated")) {
            max_rated = (int)parse_num(a, val, 1, 10000000);
            i++;
        } else if (!strcmp(a, "--heldout-pct")) {
            heldout_pct = (int)parse_num(a, val, 0, 100);
            i++;
        } else if (a[0] == '-' || path) {
            fprintf(stderr, "synth_ratings: unexpected argument '%s'\n", a);
            usage(stderr);
            return 1;
        } else {
            path = a;
        }
    }
    if (!path) {
        usage(stderr);
        return 1;
    }
    if (min_rated > max_rated) {
        fprintf(stderr, "synth_ratings: --min-rated %d exceeds --max-rated %d\n",
                min_rated, max_rated);
        return 1;
    }
    rng_seed(seed);

    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                                   | SQLITE_OPEN_NOMUTEX, NULL)
        != SQLITE_OK)
        die_db(path);
    /* Speed only, no change to the tables' contents: no journal, no fsync.
     * (A bigger page cache measured no faster for these appends, and
     * the default keeps the RSS at a few MB.) */
    exec_sql("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;");
    exec_sql("BEGIN");
    exec_sql("DROP TABLE IF EXISTS items;   DROP TABLE IF EXISTS users;"
             "DROP TABLE IF EXISTS ratings; DROP TABLE IF EXISTS heldout;"
             "CREATE TABLE items(item_id INTEGER PRIMARY KEY, title TEXT, genre TEXT);"
             "CREATE TABLE users(user_id INTEGER PRIMARY KEY, taste TEXT);"
             "CREATE TABLE ratings(user_id INTEGER, item_id INTEGER, rating INTEGER);"
             "CREATE TABLE heldout(user_id INTEGER, item_id INTEGER, rating INTEGER);");

    /* Items: genre = (id-1) % 6, so within a genre id order is popularity
     * rank; Zipf weight ~ 1/(rank+1), kept as integer cumulative sums. */
    int *quality10 = xcalloc((size_t)nitems + 1, sizeof *quality10);
    int ngenre_items[NGENRES] = { 0 };
    uint64_t *cum[NGENRES];
    for (int g = 0; g < NGENRES; g++) {
        ngenre_items[g] = (nitems - g + NGENRES - 1) / NGENRES;
        cum[g] = xcalloc((size_t)ngenre_items[g], sizeof *cum[g]);
        uint64_t total = 0;
        for (int r = 0; r < ngenre_items[g]; r++)
            cum[g][r] = total += 1000000000 / (uint64_t)(r + 1);
    }

    sqlite3_stmt *ins = prepare("INSERT INTO items VALUES (?1, ?2, ?3)");
    for (int id = 1; id <= nitems; id++) {
        int g = (id - 1) % NGENRES, rank = (id - 1) / NGENRES;
        char title[64];
        if (rank < 64) {
            /* (rank%8, rank/8 + rank%8) walks all 64 pairs once: no repeats */
            int a = rank % 8, n = (rank / 8 + a) % 8;
            snprintf(title, sizeof title, "The %s %s", title_adj[g][a], title_noun[g][n]);
        } else {
            /* Word pairs run out: fall back to a numbered title. */
            char cap[32];
            snprintf(cap, sizeof cap, "%s", genre_name[g]);
            cap[0] = (char)(cap[0] - 'a' + 'A');
            snprintf(title, sizeof title, "%s #%d", cap, rank + 1);
        }
        quality10[id] = (int)rng_below(11) - 5;    /* -0.5 .. +0.5 stars */
        sqlite3_bind_int(ins, 1, id);
        sqlite3_bind_text(ins, 2, title, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 3, genre_name[g], -1, SQLITE_STATIC);
        step_reset(ins);
    }
    sqlite3_finalize(ins);

    sqlite3_stmt *ins_user = prepare("INSERT INTO users VALUES (?1, ?2)");
    sqlite3_stmt *ins_train = prepare("INSERT INTO ratings VALUES (?1, ?2, ?3)");
    sqlite3_stmt *ins_held = prepare("INSERT INTO heldout VALUES (?1, ?2, ?3)");
    /* Per-user scratch, sized once for the largest possible user. */
    int max_n = max_rated < nitems ? max_rated : nitems;
    unsigned char *seen = xcalloc((size_t)nitems + 1, 1);
    int *picked = xcalloc((size_t)max_n, sizeof *picked);
    int *stars = xcalloc((size_t)max_n, sizeof *stars);
    long total = 0, held_total = 0;

    for (int u = 1; u <= nusers; u++) {
        /* Taste: shuffle the genres; first 1-2 loved, next 1-2 neutral. */
        int perm[NGENRES], att[NGENRES], loved[NGENRES], nloved, nother = 0;
        int others[NGENRES];
        for (int g = 0; g < NGENRES; g++) perm[g] = g;
        for (int g = NGENRES - 1; g > 0; g--) {
            int j = (int)rng_below((uint64_t)g + 1), t = perm[g];
            perm[g] = perm[j]; perm[j] = t;
        }
        nloved = 1 + (int)rng_below(2);
        int nneutral = 1 + (int)rng_below(2);
        for (int k = 0; k < NGENRES; k++)
            att[perm[k]] = k < nloved ? LOVE : k < nloved + nneutral ? NEUTRAL : DISLIKE;

        /* Loved genres in genre order, so equal tastes get equal strings. */
        char taste[128] = "";
        nloved = 0;
        for (int g = 0; g < NGENRES; g++) {
            if (att[g] == LOVE) {
                if (nloved) strcat(taste, " + ");
                strcat(taste, genre_name[g]);
                loved[nloved++] = g;
            } else {
                others[nother++] = g;
            }
        }
        sqlite3_bind_int(ins_user, 1, u);
        sqlite3_bind_text(ins_user, 2, taste, -1, SQLITE_TRANSIENT);
        step_reset(ins_user);

        /* Heavy tail: Pareto(alpha=1) from min_rated, i.e.
         * P(n > x) = min_rated/x, truncated at max_rated. */
        uint64_t draw = (uint64_t)min_rated * 65536 / (1 + rng_below(65536));
        int n = draw > (uint64_t)max_n ? max_n : (int)draw;

        /* first_free[g]: every rank below it in genre g is rated already,
         * so the fallback below never rescans them (heavy users fill whole
         * genres; a scan from rank 0 each time would be quadratic). */
        int taken[NGENRES] = { 0 }, first_free[NGENRES] = { 0 };
        for (int k = 0; k < n; k++) {
            int g, item = 0;
            do {   /* pick a genre that still has unrated items */
                g = rng_below(100) < LOVED_PCT
                        ? loved[rng_below((uint64_t)nloved)]
                        : others[rng_below((uint64_t)nother)];
            } while (taken[g] == ngenre_items[g]);

            /* Zipf draw; after a few collisions take the most popular
             * unrated item so a nearly-full genre cannot stall. */
            for (int tries = 0; tries < 32 && !item; tries++) {
                int r = zipf_rank(cum[g], ngenre_items[g]);
                if (r >= first_free[g] && !seen[g + 1 + NGENRES * r])
                    item = g + 1 + NGENRES * r;
            }
            if (!item) {   /* taken[g] < ngenre_items[g]: one is free */
                while (seen[g + 1 + NGENRES * first_free[g]]) first_free[g]++;
                item = g + 1 + NGENRES * first_free[g];
            }

            seen[item] = 1;
            taken[g]++;
            /* Rating in tenths: attitude mean + item quality + noise
             * (sum of 3 uniforms, sd ~0.55 stars), rounded and clamped. */
            int s10 = base10[att[g]] + quality10[item]
                      + (int)(rng_below(11) + rng_below(11) + rng_below(11)) - 15;
            int r = s10 < 5 ? 1 : (s10 + 5) / 10;
            picked[k] = item;
            stars[k] = r < 1 ? 1 : r > 5 ? 5 : r;
        }

        /* Hold out heldout_pct% rounded (>= 1 once a user has 5 ratings,
         * unless it is 0): partial shuffle moves a random subset to the
         * front. */
        int hold = (int)(((long)n * heldout_pct + 50) / 100);
        if (hold == 0 && n >= 5 && heldout_pct > 0) hold = 1;
        for (int k = 0; k < hold; k++) {
            int j = k + (int)rng_below((uint64_t)(n - k));
            int ti = picked[k], ts = stars[k];
            picked[k] = picked[j]; stars[k] = stars[j];
            picked[j] = ti; stars[j] = ts;
        }
        for (int k = 0; k < n; k++) {
            sqlite3_stmt *st = k < hold ? ins_held : ins_train;
            sqlite3_bind_int(st, 1, u);
            sqlite3_bind_int(st, 2, picked[k]);
            sqlite3_bind_int(st, 3, stars[k]);
            step_reset(st);
            seen[picked[k]] = 0;     /* clear only what we set */
        }
        total += n;
        held_total += hold;
    }
    sqlite3_finalize(ins_user);
    sqlite3_finalize(ins_train);
    sqlite3_finalize(ins_held);
    exec_sql("COMMIT");
    if (sqlite3_close(db) != SQLITE_OK)
        die_db("close");

    printf("synth_ratings: %d users, %d items, %ld ratings (%ld held out) -> %s\n",
           nusers, nitems, total, held_total, path);

    for (int g = 0; g < NGENRES; g++) free(cum[g]);
    free(quality10);
    free(seen);
    free(picked);
    free(stars);
    return 0;
}
