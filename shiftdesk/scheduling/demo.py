"""The demo library's people and schedules, as data, shared by `seed_demo` and the demo launcher.

The launcher creates a mailbox in the Microsoft emulator for every address in `demo_people()`, so staff can
connect Outlook in the demo with the same email address they log in to ShiftDesk with.
"""

from __future__ import annotations

from dataclasses import dataclass

DEMO_DOMAIN = "riverside-library.org"
DEMO_SITE_NAME = "Riverside Public Library"
DEMO_TIME_ZONE = "America/Chicago"
DEMO_ADMIN_PASSWORD = "demo-admin-2026"
DEMO_STAFF_PASSWORD = "demo-staff-2026"


@dataclass(frozen=True)
class DemoPerson:
    first_name: str
    last_name: str
    schedule: str  # the schedule whose roster they are on ("" for the admin)
    is_admin: bool = False

    @property
    def email(self) -> str:
        return f"{self.first_name}.{self.last_name}@{DEMO_DOMAIN}".lower().replace(" ", "").replace("'", "")

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


REFERENCE, CIRCULATION, CHILDREN = "Reference Desk", "Circulation", "Children's Services"

ADMIN_EMAIL = f"admin@{DEMO_DOMAIN}"

# 25 staff, deterministic. The first one is the regular login the demo prints.
DEMO_STAFF: tuple[DemoPerson, ...] = (
    DemoPerson("Maria", "Garcia", REFERENCE),
    DemoPerson("James", "Smith", REFERENCE),
    DemoPerson("Aisha", "Khan", REFERENCE),
    DemoPerson("Daniel", "Nguyen", REFERENCE),
    DemoPerson("Emily", "Johnson", REFERENCE),
    DemoPerson("Omar", "Haddad", REFERENCE),
    DemoPerson("Grace", "Kim", REFERENCE),
    DemoPerson("Lucas", "Martin", REFERENCE),
    DemoPerson("Sofia", "Rossi", CIRCULATION),
    DemoPerson("Michael", "Brown", CIRCULATION),
    DemoPerson("Hannah", "Schmidt", CIRCULATION),
    DemoPerson("Kwame", "Mensah", CIRCULATION),
    DemoPerson("Olivia", "Davis", CIRCULATION),
    DemoPerson("Mateo", "Lopez", CIRCULATION),
    DemoPerson("Chloe", "Wilson", CIRCULATION),
    DemoPerson("Ethan", "Clark", CIRCULATION),
    DemoPerson("Priya", "Patel", CIRCULATION),
    DemoPerson("Noah", "Lewis", CHILDREN),
    DemoPerson("Ava", "Walker", CHILDREN),
    DemoPerson("Liam", "Young", CHILDREN),
    DemoPerson("Mia", "Hernandez", CHILDREN),
    DemoPerson("Yuki", "Tanaka", CHILDREN),
    DemoPerson("Isabella", "Moore", CHILDREN),
    DemoPerson("Samuel", "Okafor", CHILDREN),
    DemoPerson("Zoe", "Turner", CHILDREN),
)


def demo_people() -> list[dict[str, str]]:
    """Every demo login: email, first_name, last_name, display_name, password (admin first)."""
    people = [
        {
            "email": ADMIN_EMAIL,
            "first_name": "Riley",
            "last_name": "Admin",
            "display_name": "Riley Admin",
            "password": DEMO_ADMIN_PASSWORD,
        }
    ]
    people += [
        {
            "email": p.email,
            "first_name": p.first_name,
            "last_name": p.last_name,
            "display_name": p.display_name,
            "password": DEMO_STAFF_PASSWORD,
        }
        for p in DEMO_STAFF
    ]
    return people


# Per schedule: positions, and the daily shift pattern (start, end, staff needed, weekdays 0=Mon, location).
DEMO_SCHEDULES = {
    REFERENCE: [
        ("Reference Desk", "09:00", "13:00", 2, range(0, 6), "2nd floor, Reference"),
        ("Reference Desk", "13:00", "17:00", 2, range(0, 6), "2nd floor, Reference"),
        ("Reference Desk", "17:00", "20:00", 1, range(0, 4), "2nd floor, Reference"),
        ("Research Help", "10:00", "12:00", 1, (1, 3), "Study room B"),
    ],
    CIRCULATION: [
        ("Circulation", "08:30", "12:30", 3, range(0, 6), "Main desk"),
        ("Circulation", "12:30", "16:30", 3, range(0, 6), "Main desk"),
        ("Circulation", "16:30", "20:00", 2, range(0, 4), "Main desk"),
        ("Shelving", "09:00", "11:00", 1, (0, 2, 4), "Stacks"),
    ],
    CHILDREN: [
        ("Children's Desk", "09:00", "13:00", 2, range(0, 6), "Children's room"),
        ("Children's Desk", "13:00", "17:00", 2, range(0, 6), "Children's room"),
        ("Story Time", "10:30", "11:30", 1, (1, 3, 5), "Story corner"),
    ],
}
