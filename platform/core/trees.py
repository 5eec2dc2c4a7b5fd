"""The organisations and areas form trees (`parent`); what lies under some of their rows is asked in several places."""


def subtree(model, roots) -> set[int]:
    """The ids of `roots` (ids of `model`) and of every row below them, one query per level of the tree."""
    found = set(roots)
    frontier = list(found)
    while frontier:
        frontier = [pk for pk in model.objects.filter(parent_id__in=frontier).values_list("pk", flat=True)
                    if pk not in found]  # fmt: skip
        found.update(frontier)
    return found
