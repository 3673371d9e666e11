// SPDX-FileCopyrightText: 2023 Raintank, Inc. dba Grafana Labs
//
// SPDX-License-Identifier: AGPL-3.0-only

export default [
  "Grumphy",
  "Doc",
  "Bashful",
  "Dopey",
  "Sneezy",
  "Sleepy",
  "Happy",
];
