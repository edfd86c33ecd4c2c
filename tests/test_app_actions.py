"""The action table: one row builds the QAction, its tooltip and its F1 line."""
# ruff: noqa: F811  (pytest fixtures imported from tests.app_fixtures)

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections import Counter  # noqa: E402

from tests.app_fixtures import app_config_dir, window  # noqa: E402, F401


def test_actions_shortcuts_tooltips_and_f1_list_agree(qtbot, window) -> None:
    from app.actions import ACTIONS, MENUS, TOOLBAR, key_sequences, key_text, shortcut_rows

    win = window
    rows = dict(shortcut_rows())
    for spec in ACTIONS:
        action = win.actions_by_id[spec.id]
        assert getattr(win, f"act_{spec.id}") is action
        assert action.shortcuts() == key_sequences(spec)
        assert action.isCheckable() == spec.checkable
        keys = [key_text(s) for s in action.shortcuts()]
        if keys:
            # The tooltip names the main shortcut; the F1 list names them all.
            assert action.toolTip().endswith(f"({keys[0]})"), spec.id
            assert rows[" / ".join(keys)] in (spec.keys_label, spec.text.replace("&", "")
                                              .rstrip("…").strip())
        if spec.short:
            assert action.iconText() == spec.short
            assert action.text() == spec.text  # the toolbar label leaves the menu's alone
    # No key is bound to two actions, and every table id is a real action.
    bound = Counter(s.toString() for spec in ACTIONS for s in key_sequences(spec))
    assert not [k for k, n in bound.items() if n > 1]
    ids = {spec.id for spec in ACTIONS}
    used = {i for _, items in MENUS for i in items} | set(TOOLBAR)
    assert {i for i in used if i != "-" and not i.startswith("@")} <= ids
    # The run buttons carry the same tips (with shortcuts) as the actions.
    assert win.controls.restore_whole.toolTip() in (win.act_restore.toolTip(),
                                                    win.can_restore()[1])
    win.controls.set_can_run(True)
    assert win.controls.restore_whole.toolTip() == win.act_restore.toolTip()
    assert "Ctrl+R" in win.act_restore.toolTip()
    # The F1 dialog shows the table.
    win.show_shortcuts()
    text = win._keys_box.text()
    for keys in rows:
        assert f"<b>{keys}</b>" in text
    win._keys_box.close()


def test_actions_trigger_their_handlers(qtbot, window) -> None:
    win = window
    win.act_side.trigger()
    assert win.view.mode == "side" and win.act_side.isChecked()
    assert not win.act_split.isChecked()
    win.act_split.trigger()
    assert win.view.mode == "split"
    seed = win.controls.seed.value()
    for _ in range(3):
        win.act_seed.trigger()
        if win.controls.seed.value() != seed:
            break
    assert win.controls.seed.value() != seed
    win.act_loupe.setChecked(True)
    assert win.view.state.loupe
