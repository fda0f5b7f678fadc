"""The deep path's engine for code actions, with no LSP imports.

- ``targets``: what an action works on (the selection, else the enclosing function/class);
- ``testing``: where a module's tests live and in which framework;
- ``prompt``: the deep model's prompt, budgeted in tokens and redacted;
- ``flow``: ``ActionRun``, from snapshot to model answer to ``EditPlan``;
- ``changes``: plan changes as UTF-16 ranges, rebased over a concurrent user edit;
- ``failures``: how a failed model request reads to the user (actions and chat).

``features/actions`` (LSP) and ``sparkforge act`` (terminal) both drive ``flow``.
"""
