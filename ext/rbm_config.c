/*
** rbm_config.c -- training defaults and their limits.
**
** The defaults were chosen by measurement on MovieLens-100K (u1 split); see
** README.md.  The limits keep a typo from allocating the machine away: a
** hidden layer of 10^9 units is an error, not an attempt.
*/
#include "rbm.h"

#include <math.h>

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
  cfg->threads = 1;
  cfg->verbose = 0;
  cfg->validation = 0;
  cfg->patience = 10;
}

const char *rbm_config_check(const rbm_config *cfg) {
  if (cfg->hidden < 1 || cfg->hidden > 16384)
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
  if (cfg->visible != RBM_VISIBLE_SOFTMAX && cfg->visible != RBM_VISIBLE_BINARY)
    return "visible must be 'softmax' or 'binary'";
  if (cfg->orientation != RBM_ORIENT_USER && cfg->orientation != RBM_ORIENT_ITEM &&
      cfg->orientation != RBM_ORIENT_BOTH)
    return "orientation must be 'user', 'item' or 'both'";
  if (!isfinite(cfg->like_threshold))
    return "like_threshold must be a finite number";
  if (cfg->threads < 1 || cfg->threads > 256)
    return "threads must be between 1 and 256";
  if (!(cfg->validation >= 0 && cfg->validation <= 0.5))
    return "validation must be from 0 to 0.5";
  if (cfg->patience < 0 || cfg->patience > 100000)
    return "patience must be between 0 and 100000";
  return 0;
}
