"""ShiftDesk: a staff shift scheduler whose staff sync their assigned shifts into Outlook."""
