/* SPDX-License-Identifier: BSD-3-Clause */
/* `verifier policy check-image` (image signatures against a policy) and `verifier policy
 * bundle ...` (signed reference-value bundles): the operator's signature tools. */
#ifndef VERIFIER_CMD_SIGS_H
#define VERIFIER_CMD_SIGS_H

/* argv[0] is "check-image". 0 allow, 1 deny, 2 usage or input error. */
int cmd_policy_check_image(int argc, char **argv);
/* argv[0] is "bundle", argv[1] create|sign|inspect|verify. 0 done (verify: valid), 1 verify:
 * invalid, 2 usage or input error. */
int cmd_policy_bundle(int argc, char **argv);

#endif
