/*
** rbm_config.c -- training defaults and their limits.
**
** The defaults were chosen by measurement on MovieLens-100K (u1 split); see
** README.md.  The limits keep a typo from allocating the machine away: a
** hidden layer of 10^9 units is an error, not an attempt.
*/
#include "rbm_internal.h"

#include <math.h>
#include <stdio.h>
#include <unistd.h>

void rbm_config_defaults(rbm_config *cfg) {
  cfg->hidden = 100;
  cfg->epochs = 60;
  cfg->batch_size = 100;
  cfg->learning_rate = 0.03;
  cfg->momentum = 0.9;
  cfg->weight_decay = 0.01;
  cfg->cd_k = 1;
  cfg->seed = 42;
  cfg->visible = RBM_VISIBLE_SOFTMAX;
  cfg->orientation = RBM_ORIENT_USER;
  cfg->like_threshold = 3.0;
  cfg->threads = 0;  /* one per core */
  cfg->verbose = 0;
  cfg->validation = 0;
  cfg->patience = 10;
  cfg->n_cd_k_steps = 0;
  cfg->momentum_start = -1;
  cfg->momentum_epochs = 5;
  cfg->lr_decay = 0;
  cfg->pcd = 0;
  cfg->max_memory = 0;
}

/* Past a few threads a minibatch of 100 users is split too finely to gain,
** and a shared server's other work keeps its cores. */
int rbm_auto_threads(void) {
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  if (cores < 1) return 1;
  return cores > RBM_AUTO_THREADS_MAX ? RBM_AUTO_THREADS_MAX : (int)cores;
}

int rbm_config_threads(const rbm_config *cfg) {
  return cfg->threads > 0 ? cfg->threads : rbm_auto_threads();
}

double rbm_memory_limit(double max_memory) {
  if (max_memory > 0) return max_memory;
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page <= 0) return INFINITY;
  return RBM_DEFAULT_MEMORY_SHARE * (double)pages * (double)page;
}

int rbm_memory_fits(double need, const char *need_what, double held,
                    const char *held_what, double max_memory, const char *hint,
                    char *err, size_t errlen) {
  double limit = rbm_memory_limit(max_memory);
  if (need + held <= limit) return 1;
  char a[32], b[32], c[32], d[32];
  snprintf(err, errlen,
           "training would need about %s (%s for %s, %s for %s), more than "
           "max_memory (%s): %s, or raise max_memory",
           rbm_format_bytes(need + held, a, sizeof a), rbm_format_bytes(need, b, sizeof b),
           need_what, rbm_format_bytes(held, c, sizeof c), held_what,
           rbm_format_bytes(limit, d, sizeof d), hint);
  return 0;
}

const char *rbm_format_bytes(double bytes, char *buf, size_t n) {
  static const char *const UNITS[] = {"bytes", "KB", "MB", "GB", "TB", "PB"};
  int u = 0;
  while (bytes >= 1024 && u < 5) {
    bytes /= 1024;
    u++;
  }
  snprintf(buf, n, u ? "%.1f %s" : "%.0f %s", bytes, UNITS[u]);
  return buf;
}

int rbm_config_cd_k(const rbm_config *cfg, int epoch) {
  int k = cfg->cd_k;
  for (int j = 0; j < cfg->n_cd_k_steps; j++)
    if (epoch >= cfg->cd_k_steps[j][0]) k = cfg->cd_k_steps[j][1];
  return k;
}

double rbm_config_momentum(const rbm_config *cfg, int epoch) {
  if (cfg->momentum_start < 0 || epoch > cfg->momentum_epochs) return cfg->momentum;
  double a = cfg->momentum_epochs > 1
                 ? (double)(epoch - 1) / (double)(cfg->momentum_epochs - 1)
                 : 1.0;
  return cfg->momentum_start + a * (cfg->momentum - cfg->momentum_start);
}

double rbm_config_learning_rate(const rbm_config *cfg, int epoch) {
  return cfg->learning_rate / (1.0 + cfg->lr_decay * (double)(epoch - 1));
}

void rbm_config_fit_shape(rbm_config *cfg, uint32_t n_users, uint32_t n_items) {
  (void)n_users;
  if (cfg->visible != RBM_VISIBLE_IMPLICIT || cfg->hidden != 0) return;
  uint32_t half = n_items / 2 ? n_items / 2 : 1;
  cfg->hidden = half < RBM_IMPLICIT_HIDDEN ? (int)half : RBM_IMPLICIT_HIDDEN;
}

const char *rbm_config_check(const rbm_config *cfg) {
  int from_shape = cfg->hidden == 0 && cfg->visible == RBM_VISIBLE_IMPLICIT;
  if ((cfg->hidden < 1 && !from_shape) || cfg->hidden > 16384)
    return "hidden must be between 1 and 16384";
  if (cfg->epochs < 1 || cfg->epochs > 100000)
    return "epochs must be between 1 and 100000";
  if (cfg->batch_size < 1 || cfg->batch_size > 1000000)
    return "batch_size must be between 1 and 1000000";
  if (!(cfg->learning_rate > 0 && cfg->learning_rate <= 100))
    return "learning_rate must be greater than 0 and at most 100";
  if (!(cfg->momentum >= 0 && cfg->momentum < 1))
    return "momentum must be at least 0 and less than 1";
  if (!(cfg->weight_decay >= 0 && cfg->weight_decay < 1))
    return "weight_decay must be at least 0 and less than 1";
  if (cfg->cd_k < 1 || cfg->cd_k > 1000)
    return "cd_k must be between 1 and 1000";
  if (cfg->visible != RBM_VISIBLE_SOFTMAX && cfg->visible != RBM_VISIBLE_BINARY &&
      cfg->visible != RBM_VISIBLE_IMPLICIT)
    return "visible must be 'softmax', 'binary' or 'implicit'";
  if (cfg->visible == RBM_VISIBLE_IMPLICIT && cfg->orientation != RBM_ORIENT_USER)
    return "visible 'implicit' is one RBM per user: orientation must be 'user'";
  if (cfg->visible == RBM_VISIBLE_IMPLICIT && cfg->pcd)
    return "pcd is not available with visible 'implicit'";
  /* Its held-out rows are all 1s: early stopping would need a ranking
  ** measure, not the rating error validation tracks. */
  if (cfg->visible == RBM_VISIBLE_IMPLICIT && cfg->validation > 0)
    return "validation is not available with visible 'implicit'; hold rows "
           "out with sql/split_per_user.sql and rank them with rbm_evaluate";
  if (cfg->orientation != RBM_ORIENT_USER && cfg->orientation != RBM_ORIENT_ITEM &&
      cfg->orientation != RBM_ORIENT_BOTH)
    return "orientation must be 'user', 'item' or 'both'";
  if (!isfinite(cfg->like_threshold))
    return "like_threshold must be a finite number";
  if (cfg->threads < 0 || cfg->threads > 256)
    return "threads must be between 1 and 256, or 0 for one per core";
  if (cfg->n_cd_k_steps < 0 || cfg->n_cd_k_steps > RBM_MAX_CD_STEPS)
    return "cd_k takes at most 8 [epoch, k] steps";
  for (int j = 0; j < cfg->n_cd_k_steps; j++) {
    if (cfg->cd_k_steps[j][0] < 1 || cfg->cd_k_steps[j][1] < 1 ||
        cfg->cd_k_steps[j][1] > 1000)
      return "cd_k steps must be [epoch >= 1, k from 1 to 1000] pairs";
    if (j > 0 && cfg->cd_k_steps[j][0] <= cfg->cd_k_steps[j - 1][0])
      return "cd_k steps must come in increasing epochs";
  }
  if (!(cfg->momentum_start < 1))  /* negative: no ramp */
    return "momentum_start must be at least 0 and less than 1";
  if (cfg->momentum_epochs < 1 || cfg->momentum_epochs > 100000)
    return "momentum_epochs must be between 1 and 100000";
  if (!(cfg->lr_decay >= 0 && cfg->lr_decay <= 1000))
    return "lr_decay must be from 0 to 1000";
  if (!(cfg->validation >= 0 && cfg->validation <= 0.5))
    return "validation must be from 0 to 0.5";
  if (cfg->patience < 0 || cfg->patience > 100000)
    return "patience must be between 0 and 100000";
  if (!(cfg->max_memory >= 0 && cfg->max_memory <= 1e18))
    return "max_memory must be from 0 (the default: half of physical memory) "
           "to 1e18 bytes";
  return 0;
}
