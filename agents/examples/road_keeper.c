/* A road agent in C for the Proving Ground agent protocol (docs/agent-protocol.md).
 *
 * Lane keeping (lane offset, heading error and curvature feed-forward) and IDM car
 * following on the nearest object ahead in the ego's lane. It scans the NDJSON messages for
 * the few fields it needs instead of parsing them fully: enough for an example, with no
 * library beyond libc.
 *
 *   cc -O2 -o road_keeper agents/examples/road_keeper.c -lm
 *   pground run scenarios/road/alks_lead_brake.yaml --agent "cmd:./road_keeper"
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The number after "key": at or after p (NAN when absent or null). */
static double number(const char *p, const char *key) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *q = strstr(p, pat);
    if (!q) return NAN;
    q += strlen(pat);
    if (strncmp(q, "null", 4) == 0) return NAN;
    return strtod(q, NULL);
}

/* The numbers of the array "key":[...] after p, into out (at most cap); returns the count. */
static int array(const char *p, const char *key, double *out, int cap) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":[", key);
    const char *q = strstr(p, pat);
    if (!q) return 0;
    q += strlen(pat);
    int n = 0;
    while (*q && *q != ']' && n < cap) {
        char *end;
        if (strncmp(q, "null", 4) == 0) { out[n++] = NAN; q += 4; }
        else {
            double v = strtod(q, &end);
            if (end == q) break;
            out[n++] = v; q = end;
        }
        if (*q == ',') q++;
    }
    return n;
}

int main(void) {
    char *line = NULL;
    size_t cap = 0;
    double wheelbase = 2.7, max_accel = 2.0, max_decel = 6.0;
    enum { K = 256 };
    static double rel_s[K], rel_t[K], vs[K], len[K];
    printf("{\"type\":\"hello\",\"protocol\":1,\"name\":\"road-keeper-c\",\"version\":\"1.0\"}\n");
    fflush(stdout);
    while (getline(&line, &cap, stdin) > 0) {
        if (strstr(line, "\"type\":\"reset\"")) {
            double w = number(line, "wheelbase_m");
            if (!isnan(w)) wheelbase = w;
            max_accel = number(line, "max_accel_mps2");
            max_decel = number(line, "max_decel_mps2");
            printf("{\"type\":\"ready\"}\n");
        } else if (strstr(line, "\"type\":\"step\"")) {
            long seq = (long)number(line, "seq");
            const char *own = strstr(line, "\"own\":");
            const char *objs = strstr(line, "\"objects\":");
            if (!own || !objs) return 3;
            double v = number(own, "speed_mps");
            double limit = number(own, "speed_limit_mps");
            double offset = number(own, "lane_offset_m");
            double herr = number(own, "heading_error_rad");
            double kappa = number(own, "curvature_1pm");
            double half = 0.5 * number(own, "lane_width_m");
            double ego_len = 4.5;
            int n = array(objs, "rel_s_m", rel_s, K);
            array(objs, "rel_t_m", rel_t, K);
            array(objs, "vs_mps", vs, K);
            array(objs, "length_m", len, K);
            /* nearest object ahead whose centre is in the ego's lane */
            double gap = INFINITY, v_lead = 0.0;
            for (int i = 0; i < n; i++) {
                if (rel_s[i] <= 0 || fabs(rel_t[i] + offset) > half) continue;
                double g = rel_s[i] - 0.5 * (len[i] + ego_len);
                if (g < gap) { gap = g; v_lead = vs[i]; }
            }
            /* IDM (Treiber et al. 2000): v0 the limit, T 1.5 s, s0 2 m, b 2 m/s^2 */
            double v0 = isnan(limit) ? 20.0 : limit, T = 1.5, s0 = 2.0, b = 2.0;
            double a = max_accel * (1.0 - pow(v / fmax(v0, 0.1), 4));
            if (isfinite(gap)) {
                double s_star = s0 + fmax(0.0, v * T + v * (v - v_lead) / (2.0 * sqrt(max_accel * b)));
                a -= max_accel * pow(s_star / fmax(gap, 0.1), 2);
            }
            if (a < -max_decel) a = -max_decel;
            double steer = atan(wheelbase * kappa) - 0.15 * offset - 1.2 * herr;
            printf("{\"type\":\"action\",\"seq\":%ld,\"action\":{\"accel_mps2\":%.9g,"
                   "\"steer_rad\":%.9g}}\n", seq, a, steer);
        } else if (strstr(line, "\"type\":\"close\"")) {
            break;
        }
        fflush(stdout);
    }
    free(line);
    return 0;
}
