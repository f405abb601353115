; Hooks for Tauri's NSIS installer (the release workflow): stop a running stack first.
!include "${__FILEDIR__}\stop-running.nsh"

!macro NSIS_HOOK_PREINSTALL
  !insertmacro STACKDESK_STOP_RUNNING
!macroend

!macro NSIS_HOOK_PREUNINSTALL
  !insertmacro STACKDESK_STOP_RUNNING
!macroend
