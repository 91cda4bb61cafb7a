# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What role pg_service did per systemd cluster: the entries of pghost_service.clusters.

pg_service_units judges every cluster (changed drop-ins, restart and its
reasons, the live postmaster). A cluster the role restarted is judged again
after the restart (in check mode), so the report shows what the new server
runs with and what still differs from the drop-ins.
"""

from __future__ import annotations


def service_report(clusters, after, restarted):
    """clusters: pg_service_units' clusters; after: its clusters from the check after
    restarts (empty when nothing restarted); restarted: {cluster name: 'done ...'}."""
    again = dict((cluster.get("name"), cluster) for cluster in after or ())
    out = []
    for cluster in clusters:
        done = (restarted or {}).get(cluster.get("name"))
        now = again.get(cluster.get("name"), {})
        reasons = cluster.get("reasons") or []
        restart = done if done else cluster.get("restart") + (": " + "; ".join(reasons) if reasons else "")
        still = (now.get("reasons") or []) if done else []
        out.append(dict(
            cluster,
            restart=done.split(" ")[0] if done else cluster.get("restart"),
            live=now["live"] if "live" in now else cluster.get("live"),
            still_pending=now.get("reasons", []) if done else [],
            summary="%s: %s; restart %s%s" % (
                cluster.get("unit") or "no unit",
                ", ".join(cluster.get("changed") or []) or "no change",
                restart,
                "; still differs after it: " + "; ".join(still) if still else ""),
        ))
    return out
