// ISA-L side of hack/bench-codec: encode and reconstruct throughput, single thread.
// Prints "RESULT isa-l <k>+<m> <op> <GB/s of data>" and "CHECK isa-l <k>+<m> <fnv64>".
// `isal_bench --kat` prints the parity of Strata's known-answer test (4+2) for cross-checking.
#include <isa-l/erasure_code.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAXS 64

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t fnv(uint64_t h, const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++) { h ^= p[i]; h *= 0x100000001b3ULL; }
    return h;
}

static void kat(void) {
    int k = 4, m = 2, len = 8;
    unsigned char a[6 * 4], g[32 * 4 * 2], buf[6][8], *ptr[6];
    gf_gen_cauchy1_matrix(a, k + m, k);
    for (int i = 0; i < k + m; i++) ptr[i] = buf[i];
    for (int i = 0; i < k; i++)
        for (int j = 0; j < len; j++) buf[i][j] = (unsigned char)(i * 16 + j * 7 + 3);
    ec_init_tables(k, m, &a[k * k], g);
    ec_encode_data(len, k, m, g, ptr, &ptr[k]);
    for (int r = k; r < k + m; r++) {
        printf("[");
        for (int j = 0; j < len; j++) printf("%d%s", buf[r][j], j + 1 < len ? ", " : "");
        printf("]\n");
    }
}

typedef void (*encode_fn)(int, int, int, unsigned char *, unsigned char **, unsigned char **);

#define ROUNDS 5

// Calls per second of one operation: best of ROUNDS rounds of secs / ROUNDS (so a burst of
// load from another process on a shared machine does not count), after a warm-up call.
#define TIMED(secs, stmt, out)                                                     \
    do {                                                                           \
        stmt;                                                                      \
        double best_ = 0;                                                          \
        for (int r_ = 0; r_ < ROUNDS; r_++) {                                      \
            long n_ = 0;                                                           \
            double t0_ = now(), t_;                                                \
            do { stmt; n_++; } while ((t_ = now() - t0_) < (secs) / ROUNDS);       \
            if (n_ / t_ > best_) best_ = n_ / t_;                                  \
        }                                                                          \
        out = best_;                                                               \
    } while (0)

// Rebuilds data shards lost[0..nlost) from the first k survivors, the way an ISA-L user
// without a matrix cache does: invert, build tables, run ec_encode_data.
static void decode(encode_fn enc, int k, int m, int len, unsigned char *a, unsigned char **shards,
                   const int *lost, int nlost, unsigned char *g) {
    unsigned char b[MAXS * MAXS], d[MAXS * MAXS], c[MAXS * MAXS], *src[MAXS], *dst[MAXS];
    int is_lost[MAXS] = {0};
    for (int i = 0; i < nlost; i++) is_lost[lost[i]] = 1;
    int r = 0;
    for (int i = 0; i < k + m && r < k; i++) {
        if (is_lost[i]) continue;
        memcpy(&b[r * k], &a[i * k], k);
        src[r++] = shards[i];
    }
    if (gf_invert_matrix(b, d, k) != 0) { fprintf(stderr, "singular\n"); exit(1); }
    for (int e = 0; e < nlost; e++) {
        memcpy(&c[e * k], &d[lost[e] * k], k);
        dst[e] = shards[lost[e]];
    }
    ec_init_tables(k, nlost, c, g);
    enc(len, k, nlost, g, src, dst);
}

// ec_encode_data picks the best kernel for the CPU (AVX-512 here); ec_encode_data_avx2 is
// measured too, as the AVX2-only machines of the fleet would run it.
static void bench(const char *name, encode_fn enc, int k, int m, int len, double secs,
                  unsigned char *a, unsigned char *g, unsigned char **shards) {
    double bytes = (double)k * len, rate;
    ec_init_tables(k, m, &a[k * k], g);
    TIMED(secs, enc(len, k, m, g, shards, &shards[k]), rate);
    printf("RESULT %s %d+%d encode %.2f\n", name, k, m, rate * bytes / 1e9);
    int lost[MAXS];
    for (int nl = 1; nl <= m; nl = (nl == 1 && m > 1) ? m : m + 1) {
        for (int i = 0; i < nl; i++) lost[i] = i;
        TIMED(secs, decode(enc, k, m, len, a, shards, lost, nl, g), rate);
        printf("RESULT %s %d+%d reconstruct-%s %.2f\n", name, k, m, nl == 1 ? "1" : "m",
               rate * bytes / 1e9);
    }
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--kat") == 0) { kat(); return 0; }
    if (argc < 4) { fprintf(stderr, "usage: isal_bench K M SHARD_LEN [SECONDS]\n"); return 2; }
    int k = atoi(argv[1]), m = atoi(argv[2]), len = atoi(argv[3]);
    double secs = argc > 4 ? atof(argv[4]) : 1.0;
    unsigned char a[MAXS * MAXS], g[32 * MAXS * MAXS], *shards[MAXS];
    gf_gen_cauchy1_matrix(a, k + m, k);
    for (int i = 0; i < k + m; i++) {
        if (posix_memalign((void **)&shards[i], 64, len)) return 1;
        for (int j = 0; j < len; j++) shards[i][j] = (unsigned char)(i * 131 + j * 7 + (j >> 8));
    }
    ec_init_tables(k, m, &a[k * k], g);
    ec_encode_data(len, k, m, g, shards, &shards[k]);
    uint64_t h = 0xcbf29ce484222325ULL;
    for (int i = k; i < k + m; i++) h = fnv(h, shards[i], len);
    printf("CHECK isa-l %d+%d %016llx\n", k, m, (unsigned long long)h);

    bench("isa-l", ec_encode_data, k, m, len, secs, a, g, shards);
    bench("isa-l-avx2", ec_encode_data_avx2, k, m, len, secs, a, g, shards);
    return 0;
}
