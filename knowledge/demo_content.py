"""Demo knowledge base for Saguaro Motors Service: categories, FAQ entries and policy documents.

Pure data, no logic. The phone agent answers callers only from this knowledge, so
every answer is written to be spoken aloud: one to three short sentences, no
lists, links or parentheses. Prices, hours, the address and the phone number
match the demo dealership profile (crm.demo) and service menu (scheduling.demo);
policies the demo does not define (loaners, shuttle, payment, warranty work,
emissions testing and so on) are invented here and kept consistent between the
FAQs and the documents.
"""

CATEGORIES = [
    ("hours-location", "Hours and location"),
    ("appointments", "Appointments and visits"),
    ("prices", "Services and prices"),
    ("loaners-shuttle", "Loaners, shuttle and rides"),
    ("warranty-recalls", "Warranty and recalls"),
    ("payment", "Payment and financing"),
    ("electric-vehicles", "Electric and hybrid vehicles"),
    ("tires", "Tires"),
    ("inspection-emissions", "Emissions testing and inspections"),
    ("general", "General questions"),
]

FAQS = [
    # ------------------------------------------------------------------ hours and location
    {
        "slug": "weekday-hours",
        "category": "hours-location",
        "question": "What are your hours Monday through Friday?",
        "answer": (
            "On weekdays the service department is open from 7 AM to 6 PM, Monday through Friday. "
            "We're on Arizona time, which doesn't change for daylight saving."
        ),
        "phrasings": [
            "What time do you open during the week?",
            "When do you close on weekdays?",
            "What are your service hours?",
            "How late are you open tonight?",
            "What time y'all close today?",
            "You guys open at 7 in the morning?",
            "Are you still open at 5:30 on a Wednesday?",
            "My husband wants to know what time you open on Monday.",
        ],
        "keywords": ["hours", "open", "close", "weekday", "monday", "friday"],
    },
    {
        "slug": "saturday-hours",
        "category": "hours-location",
        "question": "Are you open on Saturdays?",
        "answer": (
            "Yes, we're open Saturdays from 8 AM to 2 PM. "
            "Saturday mornings fill up fast, so it's best to book a few days ahead."
        ),
        "phrasings": [
            "What are your Saturday hours?",
            "Can I bring my car in on the weekend?",
            "How late are you open on Saturday?",
            "You guys open Saturday?",
            "What time do you open on Saturday morning?",
            "I work all week, can I come in this Saturday?",
            "My wife can only bring the car in on Saturdays, are you open then?",
            "Does service work Saturdays till 2?",
        ],
        "keywords": ["weekend", "saturday"],
    },
    {
        "slug": "sunday-hours",
        "category": "hours-location",
        "question": "Are you open on Sunday?",
        "answer": (
            "We're closed on Sundays. "
            "You can still leave your car with us using the after-hours key drop, and we'll get started first thing "
            "Monday morning."
        ),
        "phrasings": [
            "Is the service department open Sundays?",
            "Can I get my car serviced on a Sunday?",
            "Does anyone work there on Sundays?",
            "Y'all open on Sundays?",
            "Can I come by tomorrow? It's Sunday.",
            "What if Sunday is the only day I can bring it in?",
            "My son wants to bring his truck in Sunday afternoon, will anyone be there?",
        ],
        "keywords": ["sunday", "weekend", "closed"],
    },
    {
        "slug": "holiday-hours",
        "category": "hours-location",
        "question": "Are you open on holidays?",
        "answer": (
            "We're closed on Thanksgiving Day, Christmas Day and New Year's Day. "
            "On other holidays, like Memorial Day, the Fourth of July and Labor Day, we keep our regular hours."
        ),
        "phrasings": [
            "Are you closed for Thanksgiving?",
            "Are you open on the Fourth of July?",
            "What days are you closed during the year?",
            "Holiday hours?",
            "Y'all open on Memorial Day?",
            "Are you closed New Year's Day?",
            "Is service open on Labor Day?",
            "My wife wants to know if you're open the day after Christmas.",
        ],
        "keywords": ["holiday", "thanksgiving", "christmas", "new year", "memorial day", "labor day", "fourth of july"],
    },
    {
        "slug": "lunch-break",
        "category": "hours-location",
        "question": "Do you close for lunch?",
        "answer": (
            "On weekdays the service drive takes a short lunch break from noon to 12:30, so no appointments start "
            "during that half hour, but you can still leave your key in the key drop box. "
            "There's no lunch break on Saturdays."
        ),
        "phrasings": [
            "Is anyone there at lunchtime?",
            "Can I drop my car off at noon?",
            "Are you open between 12 and 12:30?",
            "Do you guys shut down for lunch?",
            "Can I book a 12 o'clock appointment?",
            "I'll get there around 12:15, will somebody be there?",
            "Are you closed over the lunch hour?",
            "Do you take a lunch break on Saturdays too?",
        ],
        "keywords": ["lunch", "noon", "break"],
    },
    {
        "slug": "location-directions",
        "category": "hours-location",
        "question": "Where are you located?",
        "answer": (
            "We're at 4410 East Camelback Road in Phoenix, zip code 85018, just east of 44th Street. "
            "Turn in at the Saguaro Motors sign and follow the Service signs to our covered service drive."
        ),
        "phrasings": [
            "What's your address?",
            "How do I get to your service department?",
            "What are the cross streets?",
            "What part of town are you in?",
            "Where y'all at?",
            "Can you give me the address for my GPS?",
            "You guys by 44th Street and Camelback?",
            "My daughter's driving over for the first time, how does she find you?",
        ],
        "keywords": ["address", "directions", "camelback", "44th street"],
    },
    {
        "slug": "parking-arrival",
        "category": "hours-location",
        "question": "Where do I park when I get there?",
        "answer": (
            "Just pull right into the covered service drive and a service advisor will meet you at your car. "
            "If you're picking up or visiting the waiting room, there's free customer parking along the east side of "
            "the building."
        ),
        "phrasings": [
            "What do I do when I arrive for my appointment?",
            "Is there parking for customers?",
            "Do I check in somewhere when I get there?",
            "Where do I pull in for service?",
            "Do I just drive up to the service bay when I get there?",
            "Where do I park if I'm just picking up?",
            "My wife's coming to get the car, where should she park?",
            "Is parking free at the dealership?",
        ],
        "keywords": ["parking", "check in", "arrive", "service drive"],
    },
    {
        "slug": "after-hours-key-drop",
        "category": "hours-location",
        "question": "Can I drop off my car after hours?",
        "answer": (
            "Yes, you can drop off any time, day or night. "
            "Park in a space marked Service Drop-Off, fill out an envelope with your name, phone number and what the "
            "car needs, and put your key in the secure drop box next to the service entrance doors. "
            "An advisor will call you by 9 AM on the next day we're open."
        ),
        "phrasings": [
            "Do you have a night drop box?",
            "Can I leave my car the night before my appointment?",
            "Where do I leave my keys if you're closed?",
            "Do you have early bird drop-off?",
            "I get off work at 10 at night, can I still leave my car?",
            "How does the overnight drop-off work?",
            "Can I drop my car at 5 in the morning before you open?",
            "My husband wants to leave the car tonight for tomorrow's appointment, where does the key go?",
        ],
        "keywords": ["key drop", "night drop", "early bird", "after hours", "drop box"],
    },
    {
        "slug": "after-hours-pickup",
        "category": "hours-location",
        "question": "Can I pick up my car after you close?",
        "answer": (
            "Yes. Once your car is done, pay through the payment link we text you, and we'll put your key in our "
            "after-hours key locker and text you a code to open it. "
            "Your car will be waiting in the After-Hours Pickup row next to the service drive."
        ),
        "phrasings": [
            "What if I can't get there before 6 to get my car?",
            "Is there a way to get my keys after closing?",
            "Can I grab my car tonight after work if you're already closed?",
            "I don't get off work till 7, can I still get my car tonight?",
            "Do you have a key locker for late pickups?",
            "Can my wife pick up the car at 8 tonight?",
            "After-hours pickup, how does that work?",
            "Can I pick up my car late Saturday after you close at 2?",
        ],
        "keywords": ["pick up", "after hours", "key locker", "late pickup"],
    },
    {
        "slug": "phone-number",
        "category": "hours-location",
        "question": "What's the service department's phone number?",
        "answer": (
            "You can reach Saguaro Motors Service at 602-555-0100. "
            "The line is answered around the clock, and service advisors are available during business hours."
        ),
        "phrasings": [
            "What number do I call to reach service?",
            "Can I get a callback number for you?",
            "How do I contact the service department?",
            "What's the number for service?",
            "Can you give me your phone number?",
            "My wife needs to call you, what number should she use?",
            "Is this line answered at night?",
            "I lost the number, what is it again?",
        ],
        "keywords": ["phone", "number", "contact"],
    },
    # ------------------------------------------------------------------ appointments and visits
    {
        "slug": "walk-ins",
        "category": "appointments",
        "question": "Do I need an appointment, or do you take walk-ins?",
        "answer": (
            "Our Express Lane takes walk-ins for oil changes, tire rotations, battery tests, air filters and "
            "emissions tests until 5 PM on weekdays and 1 PM on Saturdays. "
            "Customers with appointments go first, so booking saves you waiting, and anything bigger needs an "
            "appointment."
        ),
        "phrasings": [
            "Can I just show up without booking?",
            "Do you accept walk-in customers?",
            "Is there an express service with no appointment?",
            "Walk-ins?",
            "Can I just swing by for an oil change today?",
            "Can I come in right now without an appointment?",
            "Do you take walk-ins on Saturday?",
            "What time does the express lane stop taking cars?",
        ],
        "keywords": ["walk-in", "express lane", "no appointment"],
    },
    {
        "slug": "booking-lead-time",
        "category": "appointments",
        "question": "How far ahead should I book an appointment?",
        "answer": (
            "Weekday appointments are usually available within a day or two, and Saturday mornings tend to book up "
            "about a week out. "
            "You can book as far as two months ahead, and for a phone booking we need at least an hour's notice."
        ),
        "phrasings": [
            "How soon can you get me in?",
            "What's your first available appointment?",
            "Can I schedule something for next month?",
            "You got anything tomorrow?",
            "How booked up are you right now?",
            "When's the next Saturday opening?",
            "Can I book something for an hour from now?",
            "My husband wants to get on the schedule, how far out are you booking?",
        ],
        "keywords": ["availability", "schedule", "book", "soonest"],
    },
    {
        "slug": "cancel-reschedule",
        "category": "appointments",
        "question": "What's your cancellation policy?",
        "answer": (
            "There's no fee to cancel or move an appointment. "
            "Just let us know as soon as you can, ideally a couple of hours ahead, and if you reserved a loaner, "
            "please give us 24 hours' notice."
        ),
        "phrasings": [
            "Is there a charge if I cancel?",
            "I need to reschedule my appointment, is that okay?",
            "What happens if I can't make my appointment?",
            "I gotta cancel tomorrow's appointment.",
            "Can I push my appointment to next week?",
            "Something came up and I can't make it in.",
            "Is there a no-show fee?",
            "I had a loaner reserved but need to cancel, how much notice do you need?",
        ],
        "keywords": ["cancel", "reschedule", "no-show", "fee"],
    },
    {
        "slug": "appointment-reminders",
        "category": "appointments",
        "question": "Will I get a reminder before my appointment?",
        "answer": (
            "Yes, the evening before your appointment we give you a reminder call, and if you've signed up for texts "
            "you'll get a text as well. "
            "You can confirm, move or cancel right on that call, and if you'd rather not get reminders, just tell us."
        ),
        "phrasings": [
            "Do you send appointment reminders?",
            "Will you text me the day before?",
            "How do I stop getting reminder calls?",
            "Do you guys call the night before?",
            "Will someone call to confirm my appointment?",
            "Can I sign up for text reminders?",
            "My mom forgets things, will you remind her the day before?",
            "Reminder texts?",
        ],
        "keywords": ["reminder", "text", "confirm"],
    },
    {
        "slug": "running-late",
        "category": "appointments",
        "question": "What if I'm running late for my appointment?",
        "answer": (
            "If you'll be less than 15 minutes late, just come on in and we'll keep your spot. "
            "Any later than that, we'll fit you in as soon as a bay opens up, or you can leave the car as a drop-off "
            "and we'll call you when it's ready."
        ),
        "phrasings": [
            "I'm stuck in traffic and will be late, is that okay?",
            "How long do you hold an appointment?",
            "Is there a grace period if I'm late?",
            "Running behind, gonna be like 20 minutes late.",
            "Will I lose my spot if I'm late?",
            "My wife's running 10 minutes behind for her appointment.",
            "Can you still take me if I'm half an hour late?",
            "Got stuck at work, can I still come in a little after my time?",
        ],
        "keywords": ["late", "grace period", "traffic"],
    },
    {
        "slug": "car-ready-notice",
        "category": "appointments",
        "question": "How will I know when my car is ready?",
        "answer": (
            "Your service advisor will text or call you as soon as your car is ready, and you'll get updates along "
            "the way, including your inspection report with photos. "
            "You can also call us any time to check on the status."
        ),
        "phrasings": [
            "Will you call me when it's done?",
            "How do I check the status of my repair?",
            "Is my car ready yet?",
            "Any update on my car?",
            "How's my car coming along?",
            "Will I get a text when it's finished?",
            "Just checking on my wife's car, is it done?",
            "Do you send updates while it's in the shop?",
        ],
        "keywords": ["status", "ready", "update", "done"],
    },
    {
        "slug": "wait-or-drop-off",
        "category": "appointments",
        "question": "Can I wait while my car is being serviced?",
        "answer": (
            "Yes, you're welcome to wait for anything that takes about an hour and a half or less, like oil changes, "
            "rotations, batteries, filters, AC service, alignments and emissions tests. "
            "For longer jobs like brakes or bigger repairs, we suggest dropping the car off, and our shuttle or a "
            "loaner can help you get around."
        ),
        "phrasings": [
            "Should I wait or leave my car?",
            "Is it better to drop off or stay?",
            "Can I stay at the dealership during the service?",
            "Can I just hang out while you do my oil change?",
            "Is this a wait or a drop-off kind of thing?",
            "Can I wait for an alignment or do I leave it?",
            "My husband wants to sit and wait for the car, is that okay?",
            "Do I have to leave my car all day?",
        ],
        "keywords": ["wait", "waiter", "drop off"],
    },
    {
        "slug": "waiting-room",
        "category": "appointments",
        "question": "Do you have a waiting room with Wi-Fi?",
        "answer": (
            "We have an air-conditioned customer lounge with free Wi-Fi, coffee, bottled water and snacks, a TV and "
            "a work counter with charging outlets. "
            "There's a small kids' corner too."
        ),
        "phrasings": [
            "Is there internet I can use while I wait?",
            "Do you have coffee in the lounge?",
            "Is there somewhere comfortable to work while I wait?",
            "You guys have wifi?",
            "Is there a place to sit while I wait?",
            "Can I charge my laptop in the lounge?",
            "I'm bringing my kids, is there somewhere for them while we wait?",
            "Is the waiting area air conditioned?",
        ],
        "keywords": ["wifi", "lounge", "coffee", "waiting room"],
    },
    {
        "slug": "speak-to-advisor",
        "category": "appointments",
        "question": "Can I talk to a real person?",
        "answer": (
            "Of course. During business hours I can transfer you to a service advisor right now. "
            "After hours, leave your name and number and an advisor will call you back the next morning we're open."
        ),
        "phrasings": [
            "Can I speak with a service advisor?",
            "Transfer me to someone please.",
            "I want to talk to a human.",
            "Operator, please.",
            "Can you put me through to the front desk?",
            "Representative.",
            "Let me talk to somebody in service.",
            "Can I get my advisor on the line?",
        ],
        "keywords": ["advisor", "representative", "transfer", "human", "person", "operator", "front desk"],
    },
    {
        "slug": "work-approval",
        "category": "appointments",
        "question": "Will you do any work without asking me first?",
        "answer": (
            "No, we never do work you haven't approved. "
            "Your advisor gives you an estimate up front, and if the technician finds anything else, we call or text "
            "you with the price before doing it."
        ),
        "phrasings": [
            "Do I get an estimate before you start?",
            "What if you find something else wrong?",
            "Will I be charged for repairs I didn't agree to?",
            "Will you call me before doing anything extra?",
            "I don't want any surprises on my bill.",
            "Can I get a quote before you do the work?",
            "Do you need my okay before adding repairs?",
            "My husband wants to know if you'll fix things without checking with us first.",
        ],
        "keywords": ["estimate", "approval", "quote", "authorize"],
    },
    {
        "slug": "what-to-bring",
        "category": "appointments",
        "question": "What should I bring to my appointment?",
        "answer": (
            "Bring all your keys, your wheel lock key if your car has locking lug nuts, and any extended warranty or "
            "service contract paperwork, and please take valuables out of the car. "
            "If you're taking a loaner, also bring your driver's license, your insurance card and a credit or debit "
            "card."
        ),
        "phrasings": [
            "Do I need to bring anything when I drop off my car?",
            "What paperwork do I need?",
            "Should I take my stuff out of the car before I come in?",
            "What do I need to have with me tomorrow?",
            "Do I need the lug nut lock key?",
            "Should I bring both sets of keys?",
            "My wife's dropping off the car, what should she bring?",
            "Do I need to bring my service contract paperwork?",
        ],
        "keywords": ["bring", "paperwork", "wheel lock"],
    },
    # ------------------------------------------------------------------ services and prices
    {
        "slug": "oil-change",
        "category": "prices",
        "question": "How much is an oil change?",
        "answer": (
            "We use full synthetic oil on every car, and our oil change runs $79 to $129, depending on how much oil "
            "your engine takes and the grade it needs. "
            "It takes about 45 minutes and includes a new filter, a fluid top-off and a tire pressure check."
        ),
        "phrasings": [
            "What do you charge for a synthetic oil change?",
            "How long does an oil change take?",
            "What's included with the oil and filter service?",
            "Do you do conventional oil?",
            "Oil change price?",
            "What's an oil change run at y'all's place?",
            "My Camry needs an oil change, how much is that?",
            "What do you charge for an oil change on a pickup?",
        ],
        "keywords": ["oil change", "lube", "synthetic", "oil and filter"],
    },
    {
        "slug": "oil-change-frequency",
        "category": "general",
        "question": "How often should I change my oil?",
        "answer": (
            "Follow your oil life monitor or owner's manual, which for most newer cars on synthetic oil means every "
            "5,000 to 10,000 miles. "
            "Phoenix heat counts as severe driving, so we suggest staying toward the shorter end, and changing it at "
            "least once a year even if you don't drive much."
        ),
        "phrasings": [
            "How many miles between oil changes?",
            "My oil life says 15 percent, do I need to come in?",
            "Is it time for an oil change?",
            "How often do I need an oil change in this heat?",
            "Do I really need it changed every 3,000 miles?",
            "I barely drive, do I still need an oil change every year?",
            "My maintenance light says oil change due, how urgent is that?",
            "How long can I go on synthetic before changing it?",
        ],
        "keywords": ["oil interval", "miles", "oil life"],
    },
    {
        "slug": "brake-inspection",
        "category": "prices",
        "question": "Can you check my brakes? They're making noise.",
        "answer": (
            "Yes, a brake inspection takes about 30 minutes, and it's free with any other service or up to $49 on "
            "its own. "
            "We measure the pads and rotors and check the brake fluid, and if you hear grinding, please come in soon "
            "and go easy on the brakes until then."
        ),
        "phrasings": [
            "My brakes are squeaking, what should I do?",
            "How much is a brake check?",
            "My car makes a grinding noise when I stop.",
            "My brakes are grinding, is it safe to drive?",
            "Can you see if I need new brakes?",
            "The steering wheel shakes when I hit the brakes.",
            "My brake pedal feels kinda soft.",
            "My wife says her brakes are squealing.",
        ],
        "keywords": ["squeak", "grinding", "brake check", "squeal", "brake noise", "brake inspection"],
    },
    {
        "slug": "brake-pads-rotors",
        "category": "prices",
        "question": "How much does a brake job cost?",
        "answer": (
            "New front brake pads and rotors run $349 to $599, depending on your vehicle, including cleaned and "
            "lubricated hardware and a test drive. "
            "It takes about two hours, so most people drop the car off, and rear brakes are quoted after an "
            "inspection."
        ),
        "phrasings": [
            "What do you charge for front pads and rotors?",
            "How much to replace brake pads?",
            "How long does a brake job take?",
            "Brake job price?",
            "Another shop said I need pads and rotors, what would you charge?",
            "How much to do the front brakes on my Highlander?",
            "What about rear brakes, how much?",
            "I need new brakes, what's that gonna cost me?",
        ],
        "keywords": ["brake job", "pads", "rotors", "front brakes"],
    },
    {
        "slug": "wheel-alignment",
        "category": "prices",
        "question": "How much is an alignment?",
        "answer": (
            "A four-wheel alignment is $119 to $179 and takes about an hour and 15 minutes. "
            "We set all four wheels to the factory angles on our alignment rack and give you a before-and-after "
            "printout."
        ),
        "phrasings": [
            "My car pulls to one side, can you fix that?",
            "What does a wheel alignment cost?",
            "My steering wheel is crooked when I drive straight.",
            "Alignment price?",
            "I hit a curb and now the steering feels off.",
            "My tires are wearing on the inside edges.",
            "The car drifts right when I let go of the wheel.",
            "Four-wheel alignment, how long does it take?",
        ],
        "keywords": ["alignment", "pulls", "steering wheel", "crooked"],
    },
    {
        "slug": "battery",
        "category": "prices",
        "question": "How much is a new car battery?",
        "answer": (
            "We test your battery and charging system for free, and it takes about 30 minutes. "
            "If it needs replacing, a new battery installed is up to $289 depending on the size, and it comes with a "
            "three-year warranty."
        ),
        "phrasings": [
            "My car won't start, can you check the battery?",
            "Do you test batteries for free?",
            "What does battery replacement cost?",
            "Car won't start, just clicks.",
            "How much for a new battery for my F-150?",
            "I had to jump my car this morning, can you test the battery?",
            "It's cranking real slow in the mornings.",
            "My wife's battery died, how much to replace it?",
        ],
        "keywords": ["battery", "won't start", "dead battery", "jump", "clicking", "battery test"],
    },
    {
        "slug": "ac-service",
        "category": "prices",
        "question": "How much does it cost to fix my air conditioning?",
        "answer": (
            "Our AC service is $149 to $249 and takes about an hour. "
            "We leak-test the system, recover and recharge the refrigerant and check the vent temperature, and if a "
            "part has failed, we quote that repair before doing anything."
        ),
        "phrasings": [
            "My AC is blowing warm air.",
            "How much is an AC recharge?",
            "Do you do freon refills?",
            "My car's AC stopped working.",
            "The AC barely cools and it's 110 out.",
            "Can you top off my freon?",
            "AC repair price?",
            "My daughter's AC only gets cold when she's driving on the freeway.",
        ],
        "keywords": ["AC", "air conditioning", "freon", "recharge", "refrigerant"],
    },
    {
        "slug": "transmission-fluid",
        "category": "prices",
        "question": "How much is a transmission fluid service?",
        "answer": (
            "A transmission fluid service is $189 to $289 and takes about an hour and a half. "
            "We drain the old fluid and refill it with the exact fluid your manufacturer specifies."
        ),
        "phrasings": [
            "Do you do transmission flushes?",
            "What does it cost to change transmission fluid?",
            "Can you service my automatic transmission?",
            "Tranny fluid change, how much?",
            "How much for a trans flush on my Silverado?",
            "My transmission fluid looks dark, can you change it?",
            "ATF service price?",
            "My husband says it's time for a transmission service, what's that cost?",
        ],
        "keywords": ["transmission", "flush", "trans fluid", "tranny fluid", "ATF"],
    },
    {
        "slug": "coolant-flush",
        "category": "prices",
        "question": "How much is a coolant flush?",
        "answer": (
            "A coolant flush is $129 to $179 and takes about an hour, including a pressure test for leaks. "
            "If your temperature gauge is climbing or you see steam, pull over and turn the engine off, because "
            "driving an overheating engine can ruin it."
        ),
        "phrasings": [
            "My car is overheating, what should I do?",
            "Do you do radiator flushes?",
            "How much to replace antifreeze?",
            "My temp gauge is climbing into the red.",
            "There's steam coming out from under the hood.",
            "Coolant flush price?",
            "I've got green stuff leaking under my car.",
            "Can you pressure test my cooling system?",
        ],
        "keywords": ["coolant", "antifreeze", "radiator", "overheating"],
    },
    {
        "slug": "air-filters",
        "category": "prices",
        "question": "How much are air filters?",
        "answer": (
            "Replacing the cabin and engine air filters runs $49 to $119 depending on your vehicle, and it only takes "
            "about 20 minutes. "
            "With all the desert dust out here, we suggest checking them at every oil change."
        ),
        "phrasings": [
            "Can you replace my cabin filter?",
            "My AC smells musty, could it be the filter?",
            "What do you charge for an engine air filter?",
            "Cabin air filter price?",
            "Do I need a new air filter with all this dust?",
            "Can you swap out both air filters?",
            "There's a dusty smell coming from the vents.",
            "My husband says the engine air filter is dirty, how much to replace it?",
        ],
        "keywords": ["cabin filter", "air filter", "pollen", "dust"],
    },
    {
        "slug": "multipoint-inspection",
        "category": "prices",
        "question": "Do you do a full vehicle inspection?",
        "answer": (
            "Yes, our multi-point inspection checks tires, brakes, fluids, belts, hoses, lights and wipers, and you "
            "get a report with photos. "
            "It's free with any paid service or $39.95 on its own, and takes about 45 minutes."
        ),
        "phrasings": [
            "Can you look my car over before a road trip?",
            "What's a multi-point inspection?",
            "How much for a general check-up?",
            "Can you inspect a used car I'm thinking of buying?",
            "What does a full vehicle check cost?",
            "We're driving to San Diego next week, can you check the car first?",
            "Can I get a report with photos of everything on my car?",
        ],
        "keywords": ["inspection", "check-up", "road trip", "multi-point"],
    },
    {
        "slug": "diagnostic-fee",
        "category": "prices",
        "question": "Do you charge to diagnose a problem?",
        "answer": (
            "Yes, diagnosis is $169, which covers the first hour of a technician's time tracking down the problem. "
            "If you have us do the repair within 30 days, that $169 is credited toward it."
        ),
        "phrasings": [
            "How much to find out what's wrong with my car?",
            "Is there a fee to look at a noise?",
            "Do you charge for diagnostics?",
            "Diagnostic fee?",
            "Do you charge just to look at it?",
            "Does the diag fee go toward the repair?",
            "It's making a clunking noise over bumps, how much to check it out?",
            "My car's running rough, what do you charge to figure out why?",
        ],
        "keywords": ["diagnostic", "diagnosis", "fee", "diagnostic fee"],
    },
    {
        "slug": "check-engine-light",
        "category": "prices",
        "question": "My check engine light is on. What should I do?",
        "answer": (
            "If it's steady, the car is usually fine to drive for now, but check that your gas cap is tight and book "
            "a diagnostic soon. "
            "If it's flashing, that means a serious misfire, so please pull over when it's safe and don't keep "
            "driving, and we can help you arrange a tow."
        ),
        "phrasings": [
            "Is it safe to drive with the engine light on?",
            "My engine light is blinking.",
            "The service engine soon light came on.",
            "The check engine light came on right after I got gas.",
            "There's a little yellow engine symbol on my dash.",
            "Can you read the code for my check engine light?",
            "My car is shaking and the engine light is flashing.",
            "My wife's check engine light popped on, what should she do?",
        ],
        "keywords": ["check engine", "warning light", "flashing", "misfire"],
    },
    {
        "slug": "labor-rate",
        "category": "prices",
        "question": "What's your hourly labor rate?",
        "answer": (
            "Our labor rate is $169 an hour. "
            "Most repairs are priced from the manufacturer's standard labor time, and your advisor gives you the full "
            "price before any work starts."
        ),
        "phrasings": [
            "How much do you charge per hour?",
            "What's the shop rate?",
            "How do you figure labor charges?",
            "Labor rate?",
            "Do you charge book time or actual hours?",
            "How much is labor at your shop?",
            "My mechanic charges 120 an hour, what do you charge?",
            "Is the labor rate the same for every car?",
        ],
        "keywords": ["labor", "hourly", "shop rate"],
    },
    {
        "slug": "scheduled-maintenance",
        "category": "prices",
        "question": "Do you do factory scheduled maintenance, like the 30,000 mile service?",
        "answer": (
            "Yes, we do all the factory scheduled services, like the 30, 60 and 90 thousand mile visits, for every "
            "make. "
            "The price depends on your vehicle and mileage, so give us the year, make, model and mileage and we'll "
            "quote it exactly."
        ),
        "phrasings": [
            "How much is a 60,000 mile service?",
            "My car is due for its major service.",
            "What's included in a mileage service?",
            "How much for the 30K service on a RAV4?",
            "My Honda's showing maintenance code B1, can you do that?",
            "Do you guys do tune-ups?",
            "My Accord is coming up on 90,000 miles, what service does it need?",
            "Can you do the factory maintenance schedule for my Subaru?",
        ],
        "keywords": ["maintenance", "mileage service", "factory schedule", "tune-up"],
    },
    {
        "slug": "coupons-specials",
        "category": "prices",
        "question": "Do you have any coupons or specials?",
        "answer": (
            "We run service specials every month, and we honor our mailed and emailed coupons, one per visit, as "
            "long as you mention it when you book. "
            "Military members, veterans and first responders also get 10 percent off labor, up to $100 per visit."
        ),
        "phrasings": [
            "Are there any discounts right now?",
            "Do you have a military discount?",
            "Can I use a coupon I got in the mail?",
            "Any deals going on this month?",
            "Do you have a veterans discount?",
            "I'm a firefighter, do I get anything off?",
            "Got any oil change coupons?",
            "I got a coupon in my email, how do I use it?",
        ],
        "keywords": ["coupon", "discount", "special", "military", "deal", "veteran", "first responder"],
    },
    # ------------------------------------------------------------------ general
    {
        "slug": "other-brands",
        "category": "general",
        "question": "Do you service all makes and models?",
        "answer": (
            "Yes, we work on all makes and models, gas, hybrid and electric, including Teslas. "
            "We're also the factory-authorized service center for Toyota, Honda, Hyundai and Kia."
        ),
        "phrasings": [
            "Will you work on my car if I didn't buy it from you?",
            "Do you only work on certain brands?",
            "Which brands do you service?",
            "Do you work on Fords?",
            "I drive a Subaru, can you service it?",
            "My wife has a BMW, will y'all work on it?",
            "Is it just Toyota and Honda or any car?",
            "Do you fix trucks like a Silverado?",
        ],
        "keywords": ["all makes", "brands", "other brands"],
    },
    {
        "slug": "genuine-parts",
        "category": "general",
        "question": "Do you use OEM parts?",
        "answer": (
            "For Toyota, Honda, Hyundai and Kia, and for all warranty work, we use genuine factory parts. "
            "For other makes we use factory parts or quality equivalent parts, your choice, and we never install used "
            "or salvaged parts."
        ),
        "phrasings": [
            "Are your parts original manufacturer?",
            "Do you use aftermarket parts?",
            "Can I get cheaper parts to save money?",
            "OEM or aftermarket?",
            "Are the parts you use genuine Honda?",
            "Do you ever put in used or junkyard parts?",
            "What kind of parts do you put on a Ford?",
            "Are your parts brand name?",
        ],
        "keywords": ["OEM", "genuine", "aftermarket", "used parts"],
    },
    {
        "slug": "customer-parts",
        "category": "general",
        "question": "Can I bring my own parts?",
        "answer": (
            "Sorry, we don't install parts that customers bring in, because we can't stand behind their quality or "
            "fit. "
            "We're happy to quote the job with our parts, which come with our repair warranty."
        ),
        "phrasings": [
            "If I buy the part online, will you put it on?",
            "Can you install a part I already bought?",
            "Do you charge just labor if I supply the parts?",
            "I got brake pads off Amazon, can you install them?",
            "Can I bring my own oil for the oil change?",
            "My son ordered a part online, will y'all put it on?",
            "Will you install a used part I got from a junkyard?",
            "Can I bring in a part from AutoZone?",
        ],
        "keywords": ["own parts", "customer parts", "install"],
    },
    {
        "slug": "towing",
        "category": "general",
        "question": "Can you tow my car in?",
        "answer": (
            "We don't run our own tow trucks, but we work with a local towing company and can give you their number, "
            "and your manufacturer's roadside assistance may cover the tow for free. "
            "Tows can be dropped off any time, day or night, and the driver can leave the key in our key drop box."
        ),
        "phrasings": [
            "My car broke down, can you send a tow truck?",
            "Do you offer roadside assistance?",
            "Can a tow company drop my car off at night?",
            "I need a tow truck.",
            "My car died on the freeway, what do I do?",
            "Who do you use for towing?",
            "Will my roadside assistance tow it to you for free?",
            "My daughter's car broke down across town, can we get it towed to you?",
        ],
        "keywords": ["tow", "tow truck", "roadside", "broke down"],
    },
    {
        "slug": "fleet-service",
        "category": "general",
        "question": "Do you offer fleet service for businesses?",
        "answer": (
            "Yes, businesses with five or more vehicles can open a fleet account, which gets priority scheduling, "
            "10 percent off labor, and monthly invoicing with approved credit. "
            "Ask for a service advisor and they'll set up your account."
        ),
        "phrasings": [
            "I manage company trucks, do you have commercial accounts?",
            "Can my business get billed monthly?",
            "Do you work on work vans for a company?",
            "Fleet account?",
            "I've got six work trucks, do you give a discount?",
            "Do you give priority service to business customers?",
            "I run a landscaping company with a few trucks, can you handle them?",
            "Can you invoice my company instead of me paying each time?",
        ],
        "keywords": ["fleet", "business", "commercial", "company vehicles"],
    },
    {
        "slug": "accessories",
        "category": "general",
        "question": "Do you install accessories?",
        "answer": (
            "Yes, we install factory and approved accessories like trailer hitches, roof racks, running boards, floor "
            "liners, remote starters and dash cams. "
            "Your advisor will quote the part and the installation, and most installs are done in a few hours."
        ),
        "phrasings": [
            "Can you put a tow hitch on my truck?",
            "Do you install remote start?",
            "Can I get a roof rack added?",
            "Can you install a dash cam?",
            "Do y'all do running boards?",
            "How much to put a trailer hitch on?",
            "My husband wants the weather floor liners, do you sell and install them?",
            "Do you do add-ons like bike racks?",
        ],
        "keywords": ["accessories", "hitch", "remote start", "roof rack"],
    },
    {
        "slug": "detailing-car-wash",
        "category": "general",
        "question": "Do you wash the car or offer detailing?",
        "answer": (
            "Every car gets a free exterior wash with any paid service, so just tell us if you'd rather skip it. "
            "We also offer full interior and exterior detailing for $199 on cars and $249 on SUVs, trucks and vans, "
            "which takes most of the day, so please book it ahead."
        ),
        "phrasings": [
            "Will my car be washed when I pick it up?",
            "How much is a full detail?",
            "Can you clean the inside of my car?",
            "Do you guys wash it for free?",
            "How much to detail an SUV?",
            "The kids trashed the back seat, can you clean it up?",
            "Can you skip the car wash on mine?",
            "Full detail, how long does it take?",
        ],
        "keywords": ["car wash", "detail", "detailing", "clean"],
    },
    {
        "slug": "spanish-speaking",
        "category": "general",
        "question": "Do you have anyone who speaks Spanish?",
        "answer": (
            "Yes, we have Spanish-speaking service advisors on weekdays and most Saturdays. "
            "Just ask for a Spanish-speaking advisor when you call or arrive."
        ),
        "phrasings": [
            "Hablan español?",
            "Is there a bilingual advisor?",
            "My mom only speaks Spanish, can someone help her?",
            "Necesito un asesor que hable español.",
            "Can I get someone who speaks Spanish for my dad?",
            "Is there a Spanish-speaking advisor on Saturdays?",
            "Español, por favor.",
        ],
        "keywords": ["spanish", "español", "bilingual", "language"],
    },
    # ------------------------------------------------------------------ loaners, shuttle and rides
    {
        "slug": "loaner-eligibility",
        "category": "loaners-shuttle",
        "question": "Can I get a loaner car?",
        "answer": (
            "Loaners are free when your car stays with us overnight for a warranty or recall repair, or for a paid "
            "repair of $500 or more. "
            "We have a limited number, so reserve one when you book, and quick services like oil changes and "
            "rotations don't include a loaner, but our shuttle can take you home."
        ),
        "phrasings": [
            "Do you provide courtesy cars?",
            "Who qualifies for a rental while my car is in the shop?",
            "Is a loaner free?",
            "Loaner cars?",
            "Do I get a loaner for a warranty repair?",
            "Can I get a loaner for just an oil change?",
            "Will you give me a rental if my car stays overnight?",
            "My wife needs something to drive while hers is in the shop.",
        ],
        "keywords": ["courtesy car", "rental car", "free loaner", "loaner"],
    },
    {
        "slug": "loaner-requirements",
        "category": "loaners-shuttle",
        "question": "What do I need to get a loaner?",
        "answer": (
            "You need to be at least 21, with a valid driver's license and proof of insurance that includes "
            "comprehensive and collision coverage. "
            "We also place a $250 refundable hold on a credit or debit card, and we ask that you bring the car back "
            "with the same fuel level."
        ),
        "phrasings": [
            "Is there an age limit for loaners?",
            "Do I need full coverage insurance to drive a loaner?",
            "Is there a deposit on the loaner?",
            "My son's 19, can he take the loaner?",
            "How much is the hold on my card for a loaner?",
            "Do I have to return the loaner with a full tank?",
            "Does my own insurance have to cover the loaner?",
            "Can I get a loaner with just liability insurance?",
        ],
        "keywords": ["license", "insurance", "deposit", "age"],
    },
    {
        "slug": "shuttle-service",
        "category": "loaners-shuttle",
        "question": "Do you have a shuttle?",
        "answer": (
            "Yes, our free shuttle can take you home or to work and pick you back up anywhere within 10 miles of the "
            "dealership, which covers central Phoenix, Arcadia, Paradise Valley, Old Town Scottsdale, Tempe and Sky "
            "Harbor airport. "
            "It runs weekdays from 7:30 AM to 5 PM, and it doesn't run on Saturdays."
        ),
        "phrasings": [
            "Can someone drive me to work after I drop off my car?",
            "How far does your shuttle go?",
            "What time does the courtesy van run?",
            "Can y'all give me a ride home?",
            "Does the shuttle go to Old Town Scottsdale?",
            "Can your van drop me at Sky Harbor?",
            "Can the shuttle bring me back when my car is done?",
            "Shuttle service?",
        ],
        "keywords": ["shuttle", "ride", "courtesy van"],
    },
    {
        "slug": "rideshare",
        "category": "loaners-shuttle",
        "question": "What if I live outside the shuttle area?",
        "answer": (
            "If the shuttle can't take you, because you're more than 10 miles away, it's a Saturday or it's after "
            "5 PM, we cover a rideshare up to $25 each way while your car stays with us. "
            "Your advisor books the ride for you, so there's nothing to pay on your end."
        ),
        "phrasings": [
            "Do you pay for an Uber?",
            "Can you get me a Lyft home?",
            "Is there a ride option on Saturdays?",
            "I live in Mesa, can the shuttle still take me?",
            "I'm way out in Glendale, how do I get home after I drop off?",
            "Will you pay for my ride if it's after 5?",
            "Do I get reimbursed for an Uber?",
            "Can you cover a rideshare for me?",
        ],
        "keywords": ["uber", "lyft", "rideshare", "ride home"],
    },
    {
        "slug": "valet-pickup",
        "category": "loaners-shuttle",
        "question": "Can you pick up my car from my house?",
        "answer": (
            "Yes, on weekdays our valet driver can pick up your car from your home or office within 10 miles and "
            "bring it back when it's done. "
            "It's free on visits of $200 or more and $39 round trip otherwise, and an advisor needs to set it up at "
            "least one business day ahead."
        ),
        "phrasings": [
            "Do you offer pickup and delivery?",
            "Can your driver come get my car at work?",
            "Do you have valet service?",
            "How much is valet pickup?",
            "My mom can't drive in, could someone come get her car?",
            "Can you bring the car back to my house when it's done?",
            "Is pickup and delivery free?",
            "Can you grab my car tomorrow morning from my place?",
        ],
        "keywords": ["valet", "pickup and delivery", "pick up my car"],
    },
    # ------------------------------------------------------------------ warranty and recalls
    {
        "slug": "recall-check",
        "category": "warranty-recalls",
        "question": "How do I find out if my car has a recall?",
        "answer": (
            "We can check for open recalls for free with your VIN, the 17-character number on your registration or "
            "at the bottom of the windshield on the driver's side. "
            "We also check automatically every time your car is here."
        ),
        "phrasings": [
            "Is there a recall on my car?",
            "Can you look up my VIN for recalls?",
            "Are there any open recalls on my vehicle?",
            "Any recalls on my 2019 Camry?",
            "I heard about an airbag recall, can you see if my car has it?",
            "Where do I find my VIN?",
            "Can you check my wife's car for recalls?",
            "Recall check?",
        ],
        "keywords": ["recall", "VIN", "safety recall", "open recall"],
    },
    {
        "slug": "recall-repair",
        "category": "warranty-recalls",
        "question": "Do I have to pay for a recall repair?",
        "answer": (
            "No, recall repairs are always free. "
            "We do recall work right here for Toyota, Honda, Hyundai and Kia, and when you book we make sure the parts "
            "are in stock first, and most recall repairs take one to three hours. "
            "Other brands have to go to their own dealer, and we'll tell you where."
        ),
        "phrasings": [
            "I got a recall notice, can you fix it?",
            "How long does a recall repair take?",
            "Is the recall work free?",
            "I got a recall letter in the mail, what do I do?",
            "Can you do the recall work on my Kia?",
            "Do you do Ford recalls?",
            "Do you have the parts for my recall?",
            "Can you book me in for the recall fix on my Honda?",
        ],
        "keywords": ["recall repair", "recall notice", "free"],
    },
    {
        "slug": "factory-warranty",
        "category": "warranty-recalls",
        "question": "Can you do warranty repairs on my car?",
        "answer": (
            "Yes for Toyota, Honda, Hyundai and Kia, since we're factory-authorized for those brands, and covered "
            "repairs cost you nothing. "
            "For other makes we can still diagnose the problem, but the manufacturer only pays its own dealers for "
            "warranty work, so we'll point you to the nearest one."
        ),
        "phrasings": [
            "Is my repair covered under warranty?",
            "My car is still under factory warranty, can you fix it for free?",
            "Is my powertrain warranty good at your shop?",
            "My Hyundai's still under warranty, can you fix it?",
            "Do you do warranty work on Chevys?",
            "Is this covered under my bumper-to-bumper?",
            "My transmission's acting up and I'm still under warranty.",
            "Warranty repair?",
        ],
        "keywords": ["warranty", "factory warranty", "covered", "powertrain"],
    },
    {
        "slug": "maintenance-warranty",
        "category": "warranty-recalls",
        "question": "Will servicing my car here void my warranty?",
        "answer": (
            "No. By federal law your warranty stays valid no matter where you get your maintenance done, as long as "
            "it's done on schedule. "
            "We keep a record of every visit, and we can email you copies any time."
        ),
        "phrasings": [
            "Do I have to go back to the dealer I bought from to keep my warranty?",
            "Does using a different shop cancel the warranty?",
            "Will getting oil changes here affect my coverage?",
            "If I get my Ford serviced here, is the warranty still good?",
            "The Nissan dealer told me I'd lose my warranty if I go somewhere else.",
            "Can you email me my service records?",
            "My husband is worried that coming to you will void the warranty.",
            "Does it mess up my warranty if I don't go to the selling dealer?",
        ],
        "keywords": ["void", "warranty", "maintenance records"],
    },
    {
        "slug": "extended-warranty",
        "category": "warranty-recalls",
        "question": "Do you accept extended warranties?",
        "answer": (
            "Yes, we work with most third-party extended warranties and service contracts, as well as factory "
            "extended plans. "
            "We contact the provider for approval and you pay any deductible, and since approval can take a few "
            "hours, plan on leaving the car with us."
        ),
        "phrasings": [
            "I have a third-party warranty, will you work with it?",
            "How does it work with my extended warranty company?",
            "Do you take service contracts?",
            "Do you take CarShield?",
            "Do I have to pay the deductible on my service contract?",
            "How long does approval from the warranty company take?",
            "We bought an extended warranty with the car, can we use it with y'all?",
            "Will you call my warranty company for me?",
        ],
        "keywords": ["extended warranty", "service contract", "deductible"],
    },
    {
        "slug": "repair-warranty",
        "category": "warranty-recalls",
        "question": "Do your repairs come with a warranty?",
        "answer": (
            "Yes, our repairs are covered for 12 months or 12,000 miles, whichever comes first, on both parts and "
            "labor. "
            "New batteries carry a three-year warranty, and tires are covered by the tire maker's warranty."
        ),
        "phrasings": [
            "What if the same problem comes back after you fix it?",
            "How long are your parts guaranteed?",
            "Is there a guarantee on your work?",
            "You fixed my AC last month and it's blowing warm again.",
            "How long is your warranty on parts and labor?",
            "Is the brake job you did covered if something goes wrong?",
            "Do you stand behind your work?",
            "Something you fixed broke again, is that covered?",
        ],
        "keywords": ["guarantee", "parts and labor", "comeback"],
    },
    # ------------------------------------------------------------------ payment and financing
    {
        "slug": "payment-methods",
        "category": "payment",
        "question": "What forms of payment do you take?",
        "answer": (
            "We take Visa, Mastercard, American Express, Discover, debit cards, cash, Apple Pay and Google Pay. "
            "We don't accept personal checks."
        ),
        "phrasings": [
            "Do you take credit cards?",
            "Can I pay cash?",
            "Do you take Apple Pay?",
            "Can I pay with a check?",
            "Y'all take Amex?",
            "Do you accept Google Pay?",
            "Do you take Discover?",
        ],
        "keywords": ["payment", "credit card", "cash", "check", "apple pay"],
    },
    {
        "slug": "financing",
        "category": "payment",
        "question": "Do you offer financing for repairs?",
        "answer": (
            "Yes, on repairs of $300 or more you can apply for service financing through our lending partner, with no "
            "interest if it's paid off within six months, subject to credit approval. "
            "The application takes just a few minutes, and your advisor can text you the link."
        ),
        "phrasings": [
            "Can I make payments on a big repair?",
            "Do you have a payment plan?",
            "Is there a service credit card?",
            "I can't pay it all at once, do you have options?",
            "Is there a zero-interest deal on repairs?",
            "Can I spread out the cost of my transmission job?",
            "How do I apply for service financing?",
            "Do you do buy now pay later?",
        ],
        "keywords": ["financing", "payment plan", "credit"],
    },
    {
        "slug": "pay-ahead",
        "category": "payment",
        "question": "Can I pay before I come to pick up my car?",
        "answer": (
            "Yes, when your car is ready we text you a secure payment link, so you can pay from your phone and skip "
            "the line at the counter. "
            "For your security, we don't take card numbers over the phone."
        ),
        "phrasings": [
            "Can I pay online?",
            "Can I give you my card number over the phone?",
            "Can my husband just pick it up if I already paid?",
            "Can you text me a payment link?",
            "I'd like to pay now so I can just grab the car.",
            "Can I pay from my phone before I get there?",
            "Do I have to stand in line to pay?",
            "Can my daughter pay for it remotely?",
        ],
        "keywords": ["pay online", "payment link", "text to pay"],
    },
    # ------------------------------------------------------------------ electric and hybrid vehicles
    {
        "slug": "ev-service",
        "category": "electric-vehicles",
        "question": "Do you service electric cars like Teslas?",
        "answer": (
            "Yes, we service electric vehicles of every make, including Tesla, for tires, rotations, alignments, "
            "brakes, cabin filters, AC, 12-volt batteries and battery health checks. "
            "For Tesla high-voltage battery or drive unit repairs, you'll need to go to Tesla service."
        ),
        "phrasings": [
            "Can you work on my Model 3?",
            "Do you do maintenance on EVs?",
            "What service does an electric car need?",
            "Y'all work on Teslas?",
            "Do you service the Chevy Bolt?",
            "Can you fix the drive unit on my Tesla?",
            "My wife has a Mach-E, can you do her maintenance?",
            "Do you do brakes on a Tesla?",
        ],
        "keywords": ["EV", "electric", "tesla"],
    },
    {
        "slug": "ev-battery-health",
        "category": "electric-vehicles",
        "question": "Can you check my EV's battery health?",
        "answer": (
            "Yes, our EV battery health check is $99 to $149 and takes about 45 minutes. "
            "You get a state-of-health report on the high-voltage battery, plus a check of the battery cooling system "
            "and the charging port."
        ),
        "phrasings": [
            "My electric car is losing range.",
            "How much is a battery health report for an EV?",
            "Can you tell how degraded my battery pack is?",
            "My Leaf doesn't go as far as it used to on a charge.",
            "Can you check the battery health on a used EV I'm buying?",
            "How much range has my Model 3 battery lost?",
            "EV battery check price?",
            "My EV's range dropped a lot this summer, is the battery going bad?",
        ],
        "keywords": ["range", "battery health", "degradation", "high voltage"],
    },
    {
        "slug": "ev-charging",
        "category": "electric-vehicles",
        "question": "Can I charge my electric car at your dealership?",
        "answer": (
            "Yes, we have two Level 2 chargers in customer parking that are free to use while you're here for "
            "service, and we top up electric cars in our service bay too. "
            "We don't have a DC fast charger, and the chargers aren't open to the public."
        ),
        "phrasings": [
            "Do you have EV chargers?",
            "Will my car be charged when I pick it up?",
            "Is there a Tesla charger on site?",
            "Can I plug in my car while I wait?",
            "Do you have a DC fast charger?",
            "Can I just stop by and use your chargers?",
            "Are your chargers free?",
            "Is there a place to charge my Bolt while it's in for service?",
        ],
        "keywords": ["charger", "charging", "level 2"],
    },
    {
        "slug": "hybrid-service",
        "category": "electric-vehicles",
        "question": "Do you service hybrids?",
        "answer": (
            "Yes, our technicians are trained on hybrid systems, so we handle everything from oil changes and brakes "
            "to hybrid battery testing and repair. "
            "For regular maintenance, hybrids use the same service menu and prices as any other car."
        ),
        "phrasings": [
            "Can you work on my Prius?",
            "Do you test hybrid batteries?",
            "Do hybrids need special maintenance?",
            "Can you change the oil on my hybrid?",
            "My Prius says check hybrid system.",
            "Do you work on RAV4 hybrids?",
            "Is hybrid maintenance more expensive?",
            "My husband's Camry hybrid needs service, do y'all do those?",
        ],
        "keywords": ["hybrid", "prius", "hybrid battery"],
    },
    # ------------------------------------------------------------------ tires
    {
        "slug": "tire-rotation",
        "category": "tires",
        "question": "How much is a tire rotation?",
        "answer": (
            "A tire rotation is $29.95 to $49.95 and takes about 30 minutes, and we set your tire pressures while "
            "we're at it. "
            "We recommend rotating every 5,000 to 7,500 miles, which lines up nicely with most oil changes."
        ),
        "phrasings": [
            "How often should I rotate my tires?",
            "What do you charge to rotate tires?",
            "Can you do a rotation with my oil change?",
            "Tire rotation price?",
            "Can y'all rotate my tires while I'm there?",
            "How long does a tire rotation take?",
            "My front tires are wearing faster than the back ones.",
            "My husband wants his truck's tires rotated, what's that cost?",
        ],
        "keywords": ["rotation", "rotate"],
    },
    {
        "slug": "tire-sales",
        "category": "tires",
        "question": "Do you sell tires?",
        "answer": (
            "Yes, we carry Michelin, Bridgestone, Goodyear and Continental, and we can order most other brands in a "
            "day or two. "
            "Prices depend on your tire size, and every tire includes mounting, balancing, a new valve stem and "
            "disposal of the old one. "
            "We also match a local store's advertised price on the same tire."
        ),
        "phrasings": [
            "How much for four new tires?",
            "What tire brands do you carry?",
            "Do you price match tires?",
            "I need new tires.",
            "How much for Michelins on my RAV4?",
            "Can you beat Discount Tire's price?",
            "Do you charge extra for mounting and balancing?",
            "My tires are bald, how much for a set?",
        ],
        "keywords": ["tires", "new tires", "michelin", "price match"],
    },
    {
        "slug": "flat-tire",
        "category": "tires",
        "question": "Can you fix a flat tire?",
        "answer": (
            "Yes, a flat repair is $39.95, it's free if you bought the tire from us, and it takes about 30 minutes. "
            "We can patch punctures in the tread, but a nail in the sidewall can't be safely repaired, so that tire "
            "would need replacing."
        ),
        "phrasings": [
            "I have a nail in my tire.",
            "Can you patch a tire?",
            "My tire keeps losing air.",
            "I've got a screw in my tire.",
            "Can you plug a tire?",
            "There's a nail in the sidewall, can that be patched?",
            "How much to fix a flat?",
            "I bought my tires from you, is the flat repair free?",
        ],
        "keywords": ["flat", "nail", "puncture", "patch", "slow leak"],
    },
    {
        "slug": "seasonal-tires",
        "category": "tires",
        "question": "Do I need winter tires?",
        "answer": (
            "Here in Phoenix you don't need winter tires, but if you're heading up to Flagstaff or the high country in "
            "winter, we can order and mount winter or all-weather tires for you. "
            "We don't have space to store off-season tires, so you'd keep the extra set at home."
        ),
        "phrasings": [
            "Do you swap snow tires?",
            "Do you store tires for the season?",
            "I'm driving up north in January, what tires do I need?",
            "We're heading to Flagstaff for Christmas, do we need snow tires?",
            "Can you put winter tires on for a ski trip?",
            "Can you hang on to my extra set of tires till spring?",
            "Do people in Phoenix ever need winter tires?",
            "Snow tires for a trip up to the White Mountains?",
        ],
        "keywords": ["winter tires", "snow tires", "all-weather", "tire storage"],
    },
    {
        "slug": "tire-pressure-light",
        "category": "tires",
        "question": "My tire pressure light is on. What should I do?",
        "answer": (
            "Look for a tire that seems low, and stop by our Express Lane, where we check and set tire pressures for "
            "free. "
            "Phoenix temperature swings change pressures a lot, and if the light keeps coming back, it may be a slow "
            "leak or a sensor, which we can inspect."
        ),
        "phrasings": [
            "The TPMS light came on.",
            "Can you put air in my tires?",
            "Do you check tire pressure for free?",
            "Low tire pressure light is on.",
            "My tire light keeps coming back on.",
            "The tire light came on this morning when it was cooler.",
            "Could my tire pressure sensor be bad?",
            "Can I swing by and get air?",
        ],
        "keywords": ["TPMS", "tire pressure", "air", "low tire"],
    },
    # ------------------------------------------------------------------ emissions testing and inspections
    {
        "slug": "emissions-test",
        "category": "inspection-emissions",
        "question": "Do you do emissions testing?",
        "answer": (
            "Yes, we do the Arizona emissions test right here, and walk-ins are welcome in the Express Lane. "
            "It takes about 30 minutes and costs $17 for most 1996 and newer cars, up to $40 for older or heavier "
            "vehicles, and the results go straight to the state so you can renew your registration."
        ),
        "phrasings": [
            "Can I get my smog check done at your place?",
            "How much is an emissions test?",
            "I need an emissions test to renew my registration.",
            "Smog check?",
            "Where can I get my car smogged around here?",
            "How long does the emissions test take?",
            "Do you send the emissions results to MVD?",
            "My husband's truck needs its emissions done before his tags expire.",
        ],
        "keywords": ["emissions", "smog", "registration"],
    },
    {
        "slug": "emissions-exemptions",
        "category": "inspection-emissions",
        "question": "Does my car need an emissions test?",
        "answer": (
            "In the Phoenix area most gas and diesel vehicles need one, hybrids included, but the five newest model "
            "years are exempt and fully electric cars never need one. "
            "Your registration renewal notice from MVD will say whether a test is required."
        ),
        "phrasings": [
            "My car is brand new, does it need a smog check?",
            "Do electric cars need emissions testing?",
            "How do I know if I need an emissions test?",
            "Does my 2023 Corolla need an emissions test?",
            "Do hybrids have to get emissions tested?",
            "Which cars are exempt from emissions?",
            "My MVD renewal didn't mention emissions, do I need it?",
            "Is my diesel truck required to do emissions?",
        ],
        "keywords": ["exempt", "new car", "MVD", "renewal notice"],
    },
    {
        "slug": "failed-emissions",
        "category": "inspection-emissions",
        "question": "What if my car fails the emissions test?",
        "answer": (
            "We'll tell you why it failed and give you a quote to fix it, starting with a diagnosis. "
            "Once it's repaired, your first retest here within 60 days is free."
        ),
        "phrasings": [
            "My car didn't pass smog, can you fix it?",
            "Do I have to pay for a retest?",
            "What happens if I fail emissions?",
            "I failed my emissions test.",
            "My truck failed emissions somewhere else, can you fix it?",
            "Why would my car fail emissions?",
            "How long do I have for a free retest?",
            "My car failed the smog check, how much to fix it?",
        ],
        "keywords": ["failed", "retest", "didn't pass"],
    },
    {
        "slug": "safety-inspection",
        "category": "inspection-emissions",
        "question": "Do you do state safety inspections?",
        "answer": (
            "Arizona doesn't require a safety inspection for personal cars, only the emissions test in the Phoenix "
            "area. "
            "Our emissions visit includes a quick courtesy safety check of your lights, brakes, tires, wipers and "
            "horn, and for a deeper look we offer a full multi-point inspection."
        ),
        "phrasings": [
            "Does Arizona require a vehicle inspection?",
            "Do I need an inspection sticker here?",
            "Do I need a safety inspection to register my car?",
            "I just moved from Texas, does Arizona need a yearly inspection?",
            "Do you do state inspections?",
            "Is there an annual safety check in Arizona?",
            "My son's registering his car here, does it need a safety inspection?",
            "Vehicle safety inspection?",
        ],
        "keywords": ["safety inspection", "state inspection", "sticker"],
    },
]

DOCUMENTS = [
    {
        "slug": "loaner-policy",
        "title": "Loaner vehicle policy",
        "category": "loaners-shuttle",
        "body": """## Who qualifies for a loaner

Saguaro Motors Service keeps a small fleet of late-model loaner cars for customers whose car has to stay with us. A
loaner is free when your car stays overnight for a factory warranty or recall repair on a Toyota, Honda, Hyundai or
Kia, or when it stays overnight for a paid repair estimated at $500 or more.

Quick services do not include a loaner. Oil changes, tire rotations, battery tests, air filters, emissions tests and
other jobs of about an hour and a half or less are done while you wait in our lounge, or you can drop the car off and
use our free shuttle. When your repair qualifies but every loaner is already out, we cover a rideshare instead, as
described at the end of this policy.

## Reserving a loaner

Loaners are limited, so please reserve one when you book your appointment. They are handed out and checked in while we
are open: weekdays from 7 AM to 6 PM and Saturdays from 8 AM to 2 PM, and never on Sundays or on Thanksgiving,
Christmas Day or New Year's Day. Plan about 15 extra minutes at drop-off for the loaner paperwork.

If you need to cancel or move an appointment that has a loaner reserved, please give us at least 24 hours' notice so
another customer can use the car. There is no fee for cancelling.

## What you need to bring

To drive a loaner you must be at least 21 years old and bring a valid driver's license; a learner's permit is not
accepted. You also need proof of current auto insurance in your name that includes comprehensive and collision
coverage, because your own policy covers the loaner while you have it.

We place a $250 refundable hold on a credit or debit card when you take the car. The hold is released when the loaner
comes back in the same condition, and your bank may take a few business days to show it.

One additional driver is allowed: a spouse or partner who lives at your address, is at least 21, and shows a license
at check-out.

## Using the loaner

Loaners are for driving in Arizona, with up to 100 miles a day included; extra miles are 25 cents a mile. Please don't
smoke or vape in the car, since a cleaning fee of $250 applies, and pets must ride in a carrier. Don't tow with a
loaner or use it for rideshare or delivery work.

You are responsible for tolls, parking tickets and photo enforcement tickets while the loaner is in your care. If
anything happens to the car, call us right away at 602-555-0100.

## Returning the loaner

Bring the loaner back with the same fuel level, or the same charge level for an electric loaner. If it comes back
lower, we charge for the fuel at the local pump price plus a $15 refueling fee.

Please return the loaner within 24 hours after we tell you your car is ready; after that it's $50 a day. If we're
closed, park the loaner in a Service Drop-Off space and put its key in the key drop box next to the service entrance
doors. You remain responsible for it until we check it in on the next day we're open.

## When a loaner isn't available

If every loaner is out, our free shuttle runs weekdays from 7:30 AM to 5 PM and goes anywhere within 10 miles of the
dealership. When the shuttle can't take you, because you live farther away, it's a Saturday or it's after 5 PM, we
book a rideshare for you and cover up to $25 each way.
""",
    },
    {
        "slug": "shuttle-rides-valet",
        "title": "Shuttle, rideshare and valet service",
        "category": "loaners-shuttle",
        "body": """## The courtesy shuttle

Our free courtesy shuttle takes you home or to work after you drop off your car, and comes back for you when it's
ready. It goes anywhere within 10 miles of the dealership at 4410 East Camelback Road. That covers central Phoenix,
downtown Phoenix, Arcadia, the Biltmore area, Paradise Valley, Old Town Scottsdale, Tempe and Sky Harbor airport.

The shuttle runs weekdays from 7:30 AM to 5 PM. It does not run on Saturdays, Sundays or the days we're closed for
Thanksgiving, Christmas Day and New Year's Day.

## Riding the shuttle

Let us know you'd like the shuttle when you book, so we can plan the route. Outbound runs leave from the service drive
about every 30 minutes, starting at 7:30 AM. When your car is ready, your advisor will text or call you; reply or call
us and the shuttle will come back for you, usually within 30 to 45 minutes. The last return pickup leaves by 5 PM.

The shuttle is a van that seats six. We don't have child car seats, so if you're traveling with small children please
bring your own seat, or plan to wait in our lounge instead.

## Rideshare when the shuttle can't go

When the shuttle can't take you, because you're more than 10 miles away, it's a Saturday, or your car is ready after 5
PM, we cover a rideshare up to $25 each way while your car is staying with us. Your advisor books the ride through our
business account, so there's nothing to pay or reimburse. Rides over $25 are billed to you at the difference, and your
advisor will tell you before booking.

Rideshare is for customers who leave their car with us. If you're waiting for a quick service, our air-conditioned
lounge has free Wi-Fi, coffee, water and snacks.

## Valet pickup and delivery

On weekdays our valet driver can pick up your car from your home or office within the same 10-mile area, bring it in
for service, and return it when it's done. It's free on visits of $200 or more and $39 round trip otherwise. An
advisor needs to arrange it at least one business day ahead, and pickups happen between 7:30 AM and 3 PM so the car is
back the same day whenever the work allows.

For a valet pickup, leave the key with someone at your home or office, or in a spot you and the driver agree on. The
driver checks the car over with photos before and after, and you pay through the secure payment link we text you.

## Waiting with us instead

For services of about an hour and a half or less, such as oil changes, tire rotations, battery tests, air filters, AC
service, alignments and emissions tests, most customers simply wait. Book a morning slot for the shortest wait, since
the Express Lane is busiest late in the afternoon and on Saturday mornings.
""",
    },
    {
        "slug": "warranty-recall-guide",
        "title": "Warranty and recall guide",
        "category": "warranty-recalls",
        "body": """## Factory warranty repairs

Saguaro Motors Service works on all makes and models, but we are factory-authorized for four brands: Toyota, Honda,
Hyundai and Kia. For those brands we do warranty repairs right here, with genuine factory parts, and a covered repair
costs you nothing. If your car qualifies, a free loaner is available when the repair keeps it overnight.

For other makes, including Ford, Chevrolet, Nissan, Subaru, Jeep and Tesla, the manufacturer pays only its own dealers
for warranty work. We're glad to diagnose the problem, which is $169 and credited toward any repair you have us do
within 30 days, and if the repair is covered, we'll point you to the nearest dealer for your brand.

Bring any warranty booklet or extended warranty paperwork you have. We confirm coverage with the manufacturer using
your VIN before any work starts.

## Checking for recalls

We check for open recalls for free, for any make, using your vehicle identification number, or VIN. The VIN is 17
characters long and is printed on your registration and insurance card and at the bottom of the windshield on the
driver's side. We also check for recalls automatically every time your car is here, and your advisor will tell you if
anything is open.

## Recall repairs

Recall repairs are always free, by law. For Toyota, Honda, Hyundai and Kia, we do recall work here. When you book, we
confirm the parts are in stock first, since some recalls have to wait for parts from the manufacturer; most recall
repairs take one to three hours, so you can wait for the shorter ones or use our shuttle. For other brands, the recall
has to be done by that brand's dealer, and we'll tell you where to go. Tesla handles many of its recalls with
over-the-air software updates.

## Extended warranties and service contracts

We work with most third-party extended warranties and service contracts, as well as factory extended plans for the
brands we represent. Here's how it works: we diagnose the problem, contact your provider with our findings and
estimate, and wait for their approval. Approval can take a few hours and sometimes the provider sends an inspector, so
please plan on leaving the car with us. You pay any deductible, plus anything your contract doesn't cover, and your
advisor tells you those amounts before any work starts.

## Keeping your warranty valid

Under federal law, your factory warranty stays valid no matter where you have your maintenance done, as long as it's
done on schedule and with the right parts and fluids. You don't need to return to the dealer where you bought the car.
We keep a record of every visit, and we can email you copies any time.

## Our own repair warranty

Repairs we do are covered for 12 months or 12,000 miles, whichever comes first, on both parts and labor. New batteries
carry a three-year warranty, and tires are covered by the tire maker's warranty. If something we fixed acts up again,
call us at 602-555-0100 and we'll look at it first, at no charge when it's covered.

We don't install parts that customers bring in, because we can't warranty them. For Toyota, Honda, Hyundai and Kia we
use genuine factory parts; for other makes you can choose factory parts or quality equivalent parts, and we never
install used or salvaged parts.
""",
    },
]
