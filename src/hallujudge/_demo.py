"""Built-in examples for ``hallujudge demo``: short news-style pairs written for this library."""

from __future__ import annotations

from ._types import Example

__all__ = ["DEMO_EXAMPLES"]

_HARBOUR = (
    "Kestrel Bay's harbour reopened on Monday after a six-week closure for dredging. The port "
    "authority said the work cost 3.1 million euros and was paid for by a regional grant. Ferry "
    "services to the islands will resume on Friday, and fishing boats may use the inner harbour "
    "from Wednesday."
)
_LAB = (
    "Researchers at the University of Tarland tested a new battery coating on 40 laboratory "
    "cells. Cells with the coating kept 92 percent of their capacity after 1,000 charging cycles, "
    "compared with 71 percent for uncoated cells. The team said tests in electric cars are at "
    "least two years away."
)
_MATCH = (
    "Northfield beat Castleton 2-1 on Saturday. Castleton led at half-time through a penalty by "
    "Ana Ruiz, but Northfield's Tom Baker scored twice in the last ten minutes. The win lifts "
    "Northfield to third place in the league."
)
_COUNCIL = (
    "Milbrook council has approved plans for 120 new homes on the former brickworks site. A "
    "third of the homes will be offered at below-market rents. Construction is due to start in "
    "spring and take about three years."
)

DEMO_EXAMPLES: tuple[Example, ...] = (
    Example(id="harbour-1", document=_HARBOUR, label=1,
            summary="Kestrel Bay's harbour has reopened after six weeks of dredging."),
    Example(id="harbour-2", document=_HARBOUR, label=0,
            summary="Kestrel Bay's harbour reopened after dredging that cost 13 million euros."),
    Example(id="harbour-3", document=_HARBOUR, label=0,
            summary="Ferry services to the islands resumed on Monday when the harbour reopened."),
    Example(id="lab-1", document=_LAB, label=1,
            summary="A battery coating helped cells keep 92% of capacity after 1,000 cycles."),
    Example(id="lab-2", document=_LAB, label=0,
            summary="Electric cars using a new battery coating will be sold from next year."),
    Example(id="lab-3", document=_LAB, label=0,
            summary="Researchers at the University of Oxford tested a new battery coating."),
    Example(id="match-1", document=_MATCH, label=1,
            summary="Tom Baker scored twice late on as Northfield beat Castleton 2-1."),
    Example(id="match-2", document=_MATCH, label=0,
            summary="Ana Ruiz scored twice as Castleton beat Northfield 2-1 on Saturday."),
    Example(id="council-1", document=_COUNCIL, label=1,
            summary="Milbrook council approved 120 homes on the old brickworks site."),
    Example(id="council-2", document=_COUNCIL, label=0,
            summary="Milbrook council rejected plans for 120 new homes on the brickworks site."),
)  # fmt: skip
